// libFuzzer target: the layer graph's JSON (`modeconn.graph`). A graph that is read must validate, and write
// out to JSON that reads back to the same graph.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "modeconn/error.hpp"
#include "modeconn/graph.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const modeconn::Graph g = modeconn::graph_from_json(text, "fuzz");
    const std::string again = modeconn::graph_to_json(g);
    const modeconn::Graph back = modeconn::graph_from_json(again, "fuzz (written back)");
    if (modeconn::graph_to_json(back) != again || back.num_params() != g.num_params()) std::abort();
  } catch (const modeconn::Error& e) {
    if (e.kind() == modeconn::ErrorKind::internal) std::abort();
  }
  return 0;
}
