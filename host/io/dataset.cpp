// Loads data sets from .npy folders, MNIST IDX folders and builtin:fashion-mnist, and checks them against
// models.
#include "modeconn/dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "io/idx.hpp"
#include "modeconn/error.hpp"
#include "modeconn/npy.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

void check_finite(const std::vector<float>& v, const std::string& path) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw input_error(path, "holds a NaN or Inf value at element " + std::to_string(i));
}

// A row's features (or targets) feed (or leave) a layer: at least one, at most the units a layer may have.
void check_width(int64_t width, const std::string& path, const char* what) {
  if (width < 1) throw input_error(path, std::string("rows have no ") + what);
  if (width > kMaxWidth)
    throw input_error(path, "rows have " + std::to_string(width) + " " + what +
                                "; modeconn handles at most " + std::to_string(kMaxWidth));
}

Split load_npy_split(const std::string& folder, const std::string& name) {
  Split s;
  s.name = name;
  s.x_source = (fs::path(folder) / ("x_" + name + ".npy")).string();
  s.y_source = (fs::path(folder) / ("y_" + name + ".npy")).string();
  if (!fs::exists(s.x_source))
    throw input_error(s.x_source,
                      "missing (a data folder holds x_train.npy y_train.npy x_test.npy y_test.npy)");
  if (!fs::exists(s.y_source))
    throw input_error(s.y_source,
                      "missing (a data folder holds x_train.npy y_train.npy x_test.npy y_test.npy)");
  {
    // Row counts from the headers: features and labels that do not pair up are refused before either file's
    // data (up to gigabytes) is read.
    const auto xs = read_npy_shape(s.x_source), ys = read_npy_shape(s.y_source);
    if (!xs.empty() && (ys.empty() || ys[0] != xs[0]))
      throw input_error(s.y_source, "has " + (ys.empty() ? std::string("no") : std::to_string(ys[0])) +
                                        " rows but " + s.x_source + " has " + std::to_string(xs[0]));
  }
  const NpyArray x = read_npy(s.x_source);
  const NpyArray y = read_npy(s.y_source);
  if (x.shape.empty()) throw input_error(s.x_source, "features must have a leading sample dimension");
  s.rows = x.shape[0];
  s.sample_shape.assign(x.shape.begin() + 1, x.shape.end());
  s.features = 1;
  for (std::size_t i = 1; i < x.shape.size(); ++i)
    s.features *= x.shape[i];  // images flatten, as nn.Flatten does
  if (s.rows == 0) throw input_error(s.x_source, "holds no samples");
  check_width(s.features, s.x_source, "features");
  s.x = x.to_float();
  check_finite(s.x, s.x_source);
  if (y.shape.empty() || y.shape[0] != s.rows)
    throw input_error(s.y_source, "has " +
                                      (y.shape.empty() ? std::string("no") : std::to_string(y.shape[0])) +
                                      " rows but " + s.x_source + " has " + std::to_string(s.rows));
  if (y.is_integer()) {
    if (y.shape.size() != 1) throw input_error(s.y_source, "integer labels must be one-dimensional");
    s.task = Task::classification;
    const auto labels = y.to_int64();
    s.labels.resize(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0 || labels[i] >= kMaxWidth)
        throw input_error(s.y_source, "label " + std::to_string(labels[i]) + " at row " + std::to_string(i) +
                                          " is outside 0 to " + std::to_string(kMaxWidth - 1) +
                                          " (modeconn handles at most " + std::to_string(kMaxWidth) +
                                          " classes)");
      s.labels[i] = static_cast<int32_t>(labels[i]);
    }
  } else {
    s.task = Task::regression;
    s.target_width = 1;
    for (std::size_t i = 1; i < y.shape.size(); ++i) s.target_width *= y.shape[i];
    check_width(s.target_width, s.y_source, "targets");
    s.targets = y.to_float();
    check_finite(s.targets, s.y_source);
  }
  return s;
}

Split load_idx_split(const std::string& folder, const std::string& prefix, const std::string& name) {
  Split s;
  s.name = name;
  s.x_source = find_idx_file(folder, prefix + "-images-idx3-ubyte");
  s.y_source = find_idx_file(folder, prefix + "-labels-idx1-ubyte");
  if (s.x_source.empty())
    throw input_error((fs::path(folder) / (prefix + "-images-idx3-ubyte[.gz]")).string(), "missing");
  if (s.y_source.empty())
    throw input_error((fs::path(folder) / (prefix + "-labels-idx1-ubyte[.gz]")).string(), "missing");
  const IdxArray x = read_idx(s.x_source);
  const IdxArray y = read_idx(s.y_source);
  if (x.shape.size() < 2) throw input_error(s.x_source, "images must have a sample dimension and pixels");
  if (y.shape.size() != 1) throw input_error(s.y_source, "labels must be one-dimensional");
  s.rows = x.shape[0];
  s.features = static_cast<int64_t>(x.values.size()) / std::max<int64_t>(s.rows, 1);
  s.sample_shape.assign(x.shape.begin() + 1, x.shape.end());
  if (s.rows > 0) check_width(s.features, s.x_source, "pixels");
  if (y.shape[0] != s.rows)
    throw input_error(s.y_source, "has " + std::to_string(y.shape[0]) + " labels but " + s.x_source +
                                      " has " + std::to_string(s.rows) + " images");
  if (s.rows == 0) throw input_error(s.x_source, "holds no images");
  s.x.resize(x.values.size());
  for (std::size_t i = 0; i < x.values.size(); ++i) s.x[i] = static_cast<float>(x.values[i]) / 255.0f;
  s.labels.assign(y.values.begin(), y.values.end());
  s.task = Task::classification;
  return s;
}

}  // namespace

uint64_t next_split_uid() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

std::string resolve_data_folder(const std::string& spec) {
  if (spec.empty())
    throw usage_error("an empty name where a data set belongs (a data folder or builtin:fashion-mnist)");
  if (spec.rfind("builtin:", 0) != 0) return spec;
  if (spec != "builtin:fashion-mnist")
    throw input_error(spec, "unknown builtin data set (there is builtin:fashion-mnist)");
  const char* env = std::getenv("MODECONN_FASHION_MNIST_DIR");
  const std::string folder = env && *env ? env : kFashionMnistDir;
  if (!fs::is_directory(folder))
    throw input_error(spec,
                      folder + " not found: install Debian's dataset-fashion-mnist (scripts/setup.sh does)");
  return folder;
}

Dataset load_dataset(const std::string& spec) {
  Dataset d;
  d.source = spec;
  const std::string folder = resolve_data_folder(spec);
  if (!fs::exists(folder)) throw input_error(folder, "data folder does not exist");
  if (!fs::is_directory(folder))
    throw input_error(folder, "data must be a folder (.npy files or MNIST IDX files)");
  if (fs::exists(fs::path(folder) / "x_train.npy") || fs::exists(fs::path(folder) / "x_test.npy")) {
    d.train = load_npy_split(folder, "train");
    d.test = load_npy_split(folder, "test");
  } else if (!find_idx_file(folder, "train-images-idx3-ubyte").empty() ||
             !find_idx_file(folder, "t10k-images-idx3-ubyte").empty()) {
    d.train = load_idx_split(folder, "train", "train");
    d.test = load_idx_split(folder, "t10k", "test");
  } else {
    throw input_error(folder,
                      "holds neither x_train.npy ... nor MNIST IDX files (train-images-idx3-ubyte ...)");
  }
  d.train.uid = next_split_uid();
  d.test.uid = next_split_uid();
  if (d.train.features != d.test.features)
    throw input_error(d.test.x_source, "has " + std::to_string(d.test.features) + " features but " +
                                           d.train.x_source + " has " + std::to_string(d.train.features));
  if (d.train.task != d.test.task)
    throw input_error(d.test.y_source, "holds " + std::string(task_name(d.test.task)) + " targets but " +
                                           d.train.y_source + " holds " +
                                           std::string(task_name(d.train.task)) + " ones");
  return d;
}

int64_t output_width(const Dataset& data) {
  if (data.train.task != Task::classification) return data.train.target_width;
  int32_t max_label = 0;
  for (const Split* s : {&data.train, &data.test})
    for (int32_t l : s->labels) max_label = std::max(max_label, l);
  return int64_t{max_label} + 1;
}

void check_compatible(const Split& s, const Architecture& arch, const std::string& model_path) {
  if (s.features != arch.input_width())
    throw input_error(s.x_source, "has " + std::to_string(s.features) + " features but " + model_path +
                                      " takes " + std::to_string(arch.input_width()) + " inputs");
  if (s.task != arch.task)
    throw input_error(s.y_source, "holds " + std::string(task_name(s.task)) + " targets but " + model_path +
                                      " is a " + std::string(task_name(arch.task)) + " model");
  if (s.task == Task::classification) {
    for (std::size_t i = 0; i < s.labels.size(); ++i)
      if (s.labels[i] >= arch.output_width())
        throw input_error(s.y_source, "label " + std::to_string(s.labels[i]) + " at row " +
                                          std::to_string(i) + " is outside the " +
                                          std::to_string(arch.output_width()) + " classes of " + model_path);
  } else if (s.target_width != arch.output_width()) {
    throw input_error(s.y_source, "has " + std::to_string(s.target_width) + " targets per row but " +
                                      model_path + " has " + std::to_string(arch.output_width()) +
                                      " outputs");
  }
}

}  // namespace modeconn
