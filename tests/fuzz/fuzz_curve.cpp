// libFuzzer target: a curve file's bytes through the safetensors reader and the curve reader (path --curve).
#include <cstdint>
#include <vector>

#include "modeconn/error.hpp"
#include "modeconn/path.hpp"
#include "modeconn/tensor_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const modeconn::TensorFile file =
        modeconn::parse_safetensors(std::vector<unsigned char>(data, data + size), "fuzz");
    (void)modeconn::curve_from_tensors(file, "fuzz", "");
  } catch (const modeconn::Error&) {
  }
  return 0;
}
