// Shared by the graph tests: the example graphs in tests/graph/data/ and tensors filled for a graph.
#pragma once

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "modeconn/graph.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn::test {

// The text of tests/graph/data/NAME.
inline std::string example_graph(const std::string& name) {
  std::ifstream in(std::string(MODECONN_SOURCE_DIR) + "/tests/graph/data/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every tensor the graph names, in graph order, at its shape, element i of each set to value(role, i).
inline TensorFile tensors_for(const Graph& g, const std::function<float(TensorRole, int64_t)>& value) {
  TensorFile f;
  for (const Node& n : g.nodes)
    for (const auto& [role, name] : n.tensors) {
      NamedTensor t{name, g.tensor_shape(n, role), {}};
      int64_t size = 1;
      for (int64_t d : t.shape) size *= d;
      for (int64_t i = 0; i < size; ++i) t.values.push_back(value(role, i));
      f.tensors.push_back(t);
    }
  return f;
}

}  // namespace modeconn::test
