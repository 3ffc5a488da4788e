// Training and test data: features as a float32 matrix, integer labels or float targets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "modeconn/model.hpp"

namespace modeconn {

struct Split {
  std::string name;      // "train" or "test"
  std::string x_source;  // file the features came from, for messages
  std::string y_source;  // file the labels or targets came from
  int64_t rows = 0;
  int64_t features = 0;
  std::vector<int64_t> sample_shape;  // one sample's shape in the file ([C, H, W], [H, W] for IDX, or [D])
  std::vector<float> x;               // rows × features, row-major
  Task task = Task::classification;
  std::vector<int32_t> labels;  // classification: rows values
  int64_t target_width = 0;     // regression: targets per row
  std::vector<float> targets;   // regression: rows × target_width
  // Identifies these contents to backends that keep a copy (the CUDA backend keeps splits on the device);
  // 0 means unknown, and such a split is copied again on every use. Give a changed split a new one.
  uint64_t uid = 0;
};

// A process-wide unique, non-zero uid for a split.
uint64_t next_split_uid();

struct Dataset {
  std::string source;
  Split train;
  Split test;
};

// The folder a data set `spec` is read from (builtin:fashion-mnist's is Debian's package folder).
std::string resolve_data_folder(const std::string& spec);

// Loads `spec`: a folder of x_train.npy y_train.npy x_test.npy y_test.npy, a folder in MNIST IDX layout
// (plain or .gz), or builtin:fashion-mnist. Throws an input error naming the offending file.
Dataset load_dataset(const std::string& spec);

// The outputs a model trained on `data` needs: for classification one per class, the classes being 0 to the
// largest label in either split (a class seen only in the test split still gets its output); for regression
// the targets' width.
int64_t output_width(const Dataset& data);

// Checks that the data fits the model: features = input width, labels in [0, classes), target width.
void check_compatible(const Split& split, const Architecture& arch, const std::string& model_path);

}  // namespace modeconn
