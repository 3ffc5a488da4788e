// libFuzzer target: safetensors bytes through the reader and into a model, as every command reads --a and
// --b.
#include <cstdint>
#include <vector>

#include "modeconn/error.hpp"
#include "modeconn/model.hpp"
#include "modeconn/tensor_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const modeconn::TensorFile file =
        modeconn::parse_safetensors(std::vector<unsigned char>(data, data + size), "fuzz");
    (void)modeconn::model_from_tensors(file, "fuzz", "");
  } catch (const modeconn::Error&) {  // a refusal is the right answer; anything else escapes and is a finding
  }
  return 0;
}
