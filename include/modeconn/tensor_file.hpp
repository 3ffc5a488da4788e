// safetensors files: named tensors plus string metadata, read into float32 and written as F32.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace modeconn {

// The most a safetensors file modeconn reads may weigh: a 100 MB header and 2^28 values of eight bytes
// (kMaxParams of model.hpp, in float64).
constexpr uint64_t kMaxSafetensorsBytes = 8 + 100'000'000 + (uint64_t{1} << 28) * 8;

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // converted to float32 whatever the stored dtype
};

// A tensor's shape as messages write it: "[10, 784]".
std::string shape_text(const std::vector<int64_t>& shape);

struct TensorFile {
  std::vector<NamedTensor> tensors;  // in file order of their data
  std::map<std::string, std::string> metadata;

  const NamedTensor* find(const std::string& name) const;
};

// Reads and validates a safetensors file (F32, F64, F16, BF16). Throws an input error naming the file.
TensorFile read_safetensors(const std::string& path);
// The file's __metadata__ from its header alone (the header validated as read_safetensors does; the tensors
// are not read).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);
// Parses safetensors bytes; `path` is only used in messages.
TensorFile parse_safetensors(const std::vector<unsigned char>& bytes, const std::string& path);
// Serialises tensors as F32 safetensors.
std::vector<unsigned char> serialize_safetensors(const TensorFile& file);
void write_safetensors(const TensorFile& file, const std::string& path);

}  // namespace modeconn
