// libFuzzer target: MNIST IDX bytes, plain or gzip (a gzip member header in the corpus lets it reach
// inflate).
#include <cstdint>
#include <vector>

#include "io/idx.hpp"
#include "modeconn/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    (void)modeconn::parse_idx(std::vector<unsigned char>(data, data + size), "fuzz");
  } catch (const modeconn::Error&) {
  }
  return 0;
}
