// safetensors reader and writer: every header field validated before any byte of data is touched.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"
#include "modeconn/json_read.hpp"
#include "modeconn/model.hpp"
#include "modeconn/tensor_file.hpp"

namespace modeconn {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}
namespace {

// The format caps the header at 100 MB; a larger length is a corrupt or hostile file.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1Fu, frac = h & 0x3FFu;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(frac), -24);  // zero and subnormals
  else if (exp == 31)
    v = frac ? std::numeric_limits<float>::quiet_NaN() : INFINITY;
  else
    v = std::ldexp(static_cast<float>(frac | 0x400u), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

struct DtypeInfo {
  const char* name;
  std::size_t size;
};
constexpr DtypeInfo kDtypes[] = {{"F32", 4}, {"F64", 8}, {"F16", 2}, {"BF16", 2}};

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

template <typename T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86-64 and aarch64 are little-endian, as the format is
  return v;
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const nlohmann::json& j, uint64_t data_size,
                  const std::string& path) {
  const std::string where = "tensor '" + name + "'";
  if (!j.is_object()) throw input_error(path, where + ": header entry is not an object");
  if (!j.contains("dtype") || !j["dtype"].is_string()) throw input_error(path, where + ": missing dtype");
  const std::string dtype = j["dtype"].get<std::string>();
  const DtypeInfo* info = find_dtype(dtype);
  if (!info)
    throw input_error(path, where + ": unsupported dtype " + dtype + " (modeconn reads F32, F64, F16, BF16)");
  if (!j.contains("shape") || !j["shape"].is_array()) throw input_error(path, where + ": missing shape");
  Entry e{name, info, {}, 0, 0};
  uint64_t count = 1;
  for (const auto& d : j["shape"]) {
    if (!d.is_number_integer()) throw input_error(path, where + ": shape holds a non-integer");
    const int64_t dim = d.get<int64_t>();
    if (dim < 0) throw input_error(path, where + ": negative dimension " + std::to_string(dim));
    if (dim > 0 && count > std::numeric_limits<uint64_t>::max() / 16 / static_cast<uint64_t>(dim))
      throw input_error(path, where + ": shape is absurdly large");
    count *= static_cast<uint64_t>(dim);
    e.shape.push_back(dim);
  }
  const auto& off = j.contains("data_offsets") ? j["data_offsets"] : nlohmann::json();
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw input_error(path, where + ": data_offsets must be two non-negative integers");
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  if (e.end < e.begin) throw input_error(path, where + ": data_offsets end before they begin");
  if (e.end > data_size)
    throw input_error(path, where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                                std::to_string(e.end) + ") run past the end of the file (" +
                                std::to_string(data_size) + " data bytes)");
  if (e.end - e.begin != count * info->size)
    throw input_error(path, where + ": " + std::to_string(e.end - e.begin) + " bytes but shape × " + dtype +
                                " needs " + std::to_string(count * info->size));
  return e;
}

std::vector<float> convert(const Entry& e, const unsigned char* p) {
  const std::size_t n = (e.end - e.begin) / e.dtype->size;
  std::vector<float> out(n);
  const std::string dtype = e.dtype->name;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* q = p + i * e.dtype->size;
    if (dtype == "F32")
      out[i] = load_le<float>(q);
    else if (dtype == "F64")
      out[i] = static_cast<float>(load_le<double>(q));
    else if (dtype == "F16")
      out[i] = half_to_float(load_le<uint16_t>(q));
    else
      out[i] = bf16_to_float(load_le<uint16_t>(q));
  }
  return out;
}

}  // namespace

const NamedTensor* TensorFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {

// What the header says: every tensor's entry, sorted by offset and checked not to overlap, the metadata, and
// the bytes the header's JSON takes. `file_size` is the whole file's.
struct Header {
  uint64_t length = 0;
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

uint64_t header_length(const unsigned char* first8, uint64_t file_size, const std::string& path) {
  if (file_size < 8) throw input_error(path, "truncated: too short to be a safetensors file");
  const uint64_t n = read_u64_le(first8);
  if (n > kMaxHeaderBytes)
    throw input_error(path, "is not a safetensors file (its first 8 bytes give a header length of " +
                                std::to_string(n) + ", absurd beside the format's 100 MB limit)");
  if (n > file_size - 8)
    throw input_error(path, "truncated: header of " + std::to_string(n) + " bytes but the file has " +
                                std::to_string(file_size - 8) + " after the length");
  return n;
}

Header parse_header(std::string_view text, uint64_t file_size, const std::string& path) {
  if (text.empty() || text[0] != '{')
    throw input_error(path, "is not a safetensors file (no JSON object after the 8-byte header length)");
  // Duplicate keys would be tensors of one name, the last silently winning: parse_json_input refuses them.
  const nlohmann::json header = parse_json_input(text, path, "header");
  if (!header.is_object()) throw input_error(path, "header is not a JSON object");
  Header h;
  h.length = text.size();
  const uint64_t data_size = file_size - 8 - h.length;
  uint64_t elements = 0;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw input_error(path, "__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) throw input_error(path, "__metadata__ value '" + mk + "' is not a string");
        h.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    h.entries.push_back(parse_entry(key, value, data_size, path));
    elements += (h.entries.back().end - h.entries.back().begin) / h.entries.back().dtype->size;
    if (elements > static_cast<uint64_t>(kMaxParams))
      throw input_error(path, "holds more than the " + std::to_string(kMaxParams) + " values modeconn reads");
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const Entry& x, const Entry& y) {
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  const Entry* furthest = nullptr;  // the non-empty tensor reaching furthest so far
  for (const Entry& cur : h.entries) {
    if (cur.end == cur.begin) continue;
    if (furthest && cur.begin < furthest->end)
      throw input_error(path, "tensors '" + furthest->name + "' and '" + cur.name + "' overlap in the file");
    if (!furthest || cur.end > furthest->end) furthest = &cur;
  }
  // As the format's reference reader: the data is exactly what the tensors cover, nothing after them.
  const uint64_t covered = furthest ? furthest->end : 0;
  if (covered != data_size)
    throw input_error(path, std::to_string(data_size - covered) + " bytes follow the last tensor's data");
  return h;
}

}  // namespace

TensorFile parse_safetensors(const std::vector<unsigned char>& bytes, const std::string& path) {
  const uint64_t length = header_length(bytes.data(), bytes.size(), path);
  const Header h =
      parse_header({reinterpret_cast<const char*>(bytes.data() + 8), static_cast<std::size_t>(length)},
                   bytes.size(), path);
  const unsigned char* data = bytes.data() + 8 + length;
  TensorFile file;
  file.metadata = h.metadata;
  for (const Entry& e : h.entries) file.tensors.push_back({e.name, e.shape, convert(e, data + e.begin)});
  return file;
}

namespace {

// The header alone, validated: a file whose header does not hold, or that is too large for any model, is
// refused before its data is read (a sparse file of hundreds of gigabytes costs nothing to make).
Header read_header(const std::string& path) {
  const uint64_t size = file_size(path);
  const uint64_t max = kMaxSafetensorsBytes;
  static_assert(kMaxSafetensorsBytes == 8 + kMaxHeaderBytes + static_cast<uint64_t>(kMaxParams) * 8);
  if (size > max)
    throw input_error(path, "is " + std::to_string(size) + " bytes, more than any model modeconn reads (" +
                                std::to_string(max) + ")");
  const auto first8 = read_file_prefix(path, 8);
  const uint64_t length = header_length(first8.data(), size, path);
  const auto head = read_file_prefix(path, 8 + length);
  return parse_header({reinterpret_cast<const char*>(head.data() + 8), static_cast<std::size_t>(length)},
                      size, path);
}

}  // namespace

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  return read_header(path).metadata;
}

TensorFile read_safetensors(const std::string& path) {
  read_header(path);
  return parse_safetensors(read_file(path, kMaxSafetensorsBytes), path);
}

std::vector<unsigned char> serialize_safetensors(const TensorFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& t : file.tensors) {
    const uint64_t bytes = t.values.size() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // keep the data 8-byte aligned
  std::vector<unsigned char> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  unsigned char* p = out.data() + 8 + text.size();
  for (const auto& t : file.tensors) {
    if (t.values.empty()) continue;  // memcpy must not see the null data() of an empty vector
    std::memcpy(p, t.values.data(), t.values.size() * sizeof(float));
    p += t.values.size() * sizeof(float);
  }
  return out;
}

void write_safetensors(const TensorFile& file, const std::string& path) {
  const auto bytes = serialize_safetensors(file);
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace modeconn
