// Loading what a command was given and checking that the pieces fit together.
#pragma once

#include <string>

#include "cli/command_line.hpp"
#include "modeconn/backend.hpp"
#include "modeconn/dataset.hpp"
#include "modeconn/graph_eval.hpp"
#include "modeconn/graph_model.hpp"
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

// Two layer graphs of one architecture and their data, checked against each other (the task taken from the
// data where the files do not say it).
struct GraphPair {
  GraphModel a, b;
  Dataset data;
};
GraphPair load_graph_pair(const std::string& a_path, const std::string& b_path, const std::string& data_spec);
// Takes the task from the data when the file did not say, then checks both splits against the graph.
void fit_graph_to_data(GraphModel& model, const std::string& model_path, const Dataset& data);
// Whether either file holds a layer graph beyond an MLP (read from the header only when it does).
bool graph_inputs(const std::string& a_path, const std::string& b_path);
// "graph of 31 nodes, input [1, 28, 28], 10 outputs, 78k parameters, 9 BatchNorms, classification"
std::string describe(const GraphModel& model);

// The backend's graph runner, or the CPU's where the backend does not run graphs yet (saying so on stderr);
// `device` receives the name of what runs.
std::unique_ptr<GraphRunner> graph_runner(Backend& backend, const CommandLine& cl, std::string* device);

// The graph --arch names for the data (train, demo): a family built for its samples, or a graph JSON file.
Graph arch_graph(const std::string& spec, const Dataset& data);

// "784-256-256-10 relu classification"
std::string describe(const Architecture& arch);

// The first `rows` rows of a split, as a split of its own (the split itself when rows is 0 or not fewer than
// it has).
Split first_rows(const Split& split, int64_t rows);
// The splits named by --split: test, train or both (test first).
std::vector<const Split*> chosen_splits(const Dataset& data, const std::string& which);

}  // namespace modeconn::cli
