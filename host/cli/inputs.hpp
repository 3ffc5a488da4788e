// Loading what a command was given and checking that the pieces fit together.
#pragma once

#include <string>

#include "modeconn/dataset.hpp"
#include "modeconn/model.hpp"
#include "modeconn/path.hpp"

namespace modeconn::cli {

// Takes the task from the data when the model file did not say, then checks every split against the model.
void fit_model_to_data(Model& model, const std::string& model_path, const Dataset& data);

// B must have A's layer widths and activation.
void check_same_architecture(const Model& a, const std::string& path_a, const Model& b,
                             const std::string& path_b);

// Two minima of one architecture and the data they are studied on, checked against each other.
struct Pair {
  Model a, b;
  Dataset data;
};
Pair load_pair(const std::string& a_path, const std::string& b_path, const std::string& activation,
               const std::string& data_spec);

// "784-256-256-10 relu classification"
std::string describe(const Architecture& arch);

// The splits named by --split: test, train or both (test first).
std::vector<const Split*> chosen_splits(const Dataset& data, const std::string& which);

}  // namespace modeconn::cli
