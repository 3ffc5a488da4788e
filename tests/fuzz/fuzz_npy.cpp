// libFuzzer target: .npy bytes through the reader and the conversions a data set makes of them.
#include <cstdint>
#include <vector>

#include "modeconn/error.hpp"
#include "modeconn/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const modeconn::NpyArray a = modeconn::parse_npy(std::vector<unsigned char>(data, data + size), "fuzz");
    (void)a.to_float();
    if (a.is_integer()) (void)a.to_int64();
  } catch (const modeconn::Error&) {
  }
  return 0;
}
