// Random models and data sets built by the tests themselves, and a temporary folder that cleans up.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "modeconn/dataset.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/model.hpp"
#include "modeconn/npy.hpp"
#include "modeconn/path.hpp"
#include "modeconn/rng.hpp"

namespace modeconn::test {

inline Model random_model(const std::vector<int64_t>& widths, Activation act, Task task, uint64_t seed,
                          double scale = 1.0) {
  Model m{make_architecture(widths, act, task), {}, true};
  Rng rng(seed);
  m.params.resize(m.arch.num_params());
  for (std::size_t l = 0; l < m.arch.layers.size(); ++l) {
    const double bound = scale * std::sqrt(3.0 / static_cast<double>(m.arch.layers[l].in));
    const std::size_t end = m.arch.bias_offset(l) + static_cast<std::size_t>(m.arch.layers[l].out);
    for (std::size_t i = m.arch.weight_offset(l); i < end; ++i)
      m.params[i] = static_cast<float>((2 * rng.uniform() - 1) * bound);
  }
  return m;
}

// A path whose control point k is random_model(widths, act, task, first_seed + k).
inline Path random_path(PathKind kind, const std::vector<int64_t>& widths, Activation act, Task task,
                        int control_points, uint64_t first_seed) {
  Path p{kind, make_architecture(widths, act, task), {}};
  for (int k = 0; k < control_points; ++k)
    p.points.push_back(random_model(widths, act, task, first_seed + static_cast<uint64_t>(k)).params);
  return p;
}

// One parameterised case of a backend test: a random path of `control_points` models and `rows` of data,
// evaluated at `points` values of t.
struct PathCase {
  std::vector<int64_t> widths;
  Activation activation;
  Task task;
  PathKind kind;
  int control_points;
  int points;
  int64_t rows;
  uint64_t seed;
};

// Named in the test name already; keeps ctest's listing readable.
inline void PrintTo(const PathCase&, std::ostream* os) { *os << "case"; }

inline Split random_split(int64_t rows, int64_t features, Task task, int64_t outputs, uint64_t seed) {
  Split s;
  s.name = "test";
  s.x_source = "x.npy";
  s.y_source = "y.npy";
  s.rows = rows;
  s.features = features;
  s.task = task;
  s.uid = next_split_uid();
  Rng rng(seed);
  s.x.resize(static_cast<std::size_t>(rows * features));
  for (auto& v : s.x) v = static_cast<float>(2 * rng.uniform() - 1);
  if (task == Task::classification) {
    for (int64_t i = 0; i < rows; ++i)
      s.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(outputs))));
  } else {
    s.target_width = outputs;
    for (int64_t i = 0; i < rows * outputs; ++i)
      s.targets.push_back(static_cast<float>(2 * rng.uniform() - 1));
  }
  return s;
}

// A data folder of `rows` random rows per split (6 features, 3 classes; seeded by the split's name), written
// as the four .npy files a data folder holds.
inline void write_random_data_folder(const std::string& folder, int64_t rows) {
  std::filesystem::create_directories(folder);
  for (const char* split : {"train", "test"}) {
    const Split s = random_split(rows, 6, Task::classification, 3, static_cast<uint64_t>(split[1]));
    write_npy(make_npy(s.x, {s.rows, s.features}), folder + "/x_" + split + ".npy");
    write_npy(make_npy(s.labels, {s.rows}), folder + "/y_" + split + ".npy");
  }
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The bytes of a file the test made, whatever its size.
inline std::vector<unsigned char> read_all(const std::string& path) {
  return read_file(path, uint64_t{1} << 40);
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("modeconn-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

}  // namespace modeconn::test
