// NumPy .npy arrays: float32, float64, uint8, int32, int64; C order, little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace modeconn {

enum class NpyType { f32, f64, u8, i32, i64 };

struct NpyArray {
  NpyType type = NpyType::f32;
  std::vector<int64_t> shape;
  std::vector<unsigned char> data;  // raw little-endian values, C order

  int64_t size() const;
  bool is_integer() const { return type == NpyType::u8 || type == NpyType::i32 || type == NpyType::i64; }
  std::vector<float> to_float() const;
  std::vector<int64_t> to_int64() const;
};

NpyArray read_npy(const std::string& path);
// The shape from the header alone, checked against the file's size: for refusing a mismatch before reading
// gigabytes.
std::vector<int64_t> read_npy_shape(const std::string& path);
NpyArray parse_npy(const std::vector<unsigned char>& bytes, const std::string& path);
std::vector<unsigned char> serialize_npy(const NpyArray& array);
void write_npy(const NpyArray& array, const std::string& path);

NpyArray make_npy(const std::vector<float>& values, std::vector<int64_t> shape);
NpyArray make_npy(const std::vector<int32_t>& values, std::vector<int64_t> shape);

}  // namespace modeconn
