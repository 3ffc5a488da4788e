// .npy reader and writer (format versions 1-3); the header's Python dict literal is parsed strictly.
#include "modeconn/npy.hpp"

#include <cctype>
#include <cstring>
#include <limits>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"

namespace modeconn {
namespace {

constexpr unsigned char kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

std::size_t item_size(NpyType t) {
  switch (t) {
    case NpyType::f32:
    case NpyType::i32:
      return 4;
    case NpyType::f64:
    case NpyType::i64:
      return 8;
    case NpyType::u8:
      return 1;
  }
  return 1;
}

const char* descr_of(NpyType t) {
  switch (t) {
    case NpyType::f32:
      return "<f4";
    case NpyType::f64:
      return "<f8";
    case NpyType::u8:
      return "|u1";
    case NpyType::i32:
      return "<i4";
    case NpyType::i64:
      return "<i8";
  }
  return "";
}

NpyType parse_descr(const std::string& d, const std::string& path) {
  if (d == "<f4") return NpyType::f32;
  if (d == "<f8") return NpyType::f64;
  if (d == "|u1" || d == "<u1") return NpyType::u8;
  if (d == "<i4") return NpyType::i32;
  if (d == "<i8") return NpyType::i64;
  if (!d.empty() && d[0] == '>')
    throw input_error(path, "big-endian dtype '" + d + "' is not supported; save it little-endian");
  throw input_error(path,
                    "unsupported dtype '" + d + "' (modeconn reads float32, float64, uint8, int32, int64)");
}

// A minimal reader for the dict literal numpy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (3,
// 4), }
class HeaderParser {
 public:
  HeaderParser(std::string text, std::string path) : s_(std::move(text)), path_(std::move(path)) {}

  void parse(std::string& descr, bool& fortran, std::vector<int64_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else
        fail("unexpected key '" + key + "'");
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      fail("expected ',' or '}'");
    }
    if (!have_descr || !have_fortran || !have_shape) fail("missing descr, fortran_order or shape");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw input_error(path_, "malformed .npy header: " + what);
  }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a string");
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      bool negative = false;
      if (peek() == '-') {
        negative = true;
        ++pos_;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape holds a non-integer");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (negative) throw input_error(path_, "negative dimension -" + std::to_string(v) + " in shape");
      dims.push_back(v);
      skip_space();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        fail("expected ',' or ')' in shape");
    }
    return dims;
  }

  std::string s_;
  std::string path_;
  std::size_t pos_ = 0;
};

// A shape as numpy writes it: "(10, 784)", "(5,)".
std::string tuple_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

// Every element of a little-endian array of `Stored` values as `Out`: one typed loop per dtype, the dtype
// dispatched once rather than per element.
template <typename Stored, typename Out>
void convert(const unsigned char* p, std::size_t n, Out* out) {
  for (std::size_t i = 0; i < n; ++i) {
    Stored v;
    std::memcpy(&v, p + sizeof(Stored) * i, sizeof(Stored));
    out[i] = static_cast<Out>(v);
  }
}

}  // namespace

std::vector<float> NpyArray::to_float() const {
  std::vector<float> out(static_cast<std::size_t>(size()));
  switch (type) {
    case NpyType::f32:
      convert<float>(data.data(), out.size(), out.data());
      break;
    case NpyType::f64:
      convert<double>(data.data(), out.size(), out.data());
      break;
    case NpyType::u8:
      convert<uint8_t>(data.data(), out.size(), out.data());
      break;
    case NpyType::i32:
      convert<int32_t>(data.data(), out.size(), out.data());
      break;
    case NpyType::i64:
      convert<int64_t>(data.data(), out.size(), out.data());
      break;
  }
  return out;
}

std::vector<int64_t> NpyArray::to_int64() const {
  MODECONN_EXPECTS(is_integer(), "to_int64 on an integer array");
  std::vector<int64_t> out(static_cast<std::size_t>(size()));
  switch (type) {
    case NpyType::u8:
      convert<uint8_t>(data.data(), out.size(), out.data());
      break;
    case NpyType::i32:
      convert<int32_t>(data.data(), out.size(), out.data());
      break;
    default:
      convert<int64_t>(data.data(), out.size(), out.data());
      break;
  }
  return out;
}

namespace {

// numpy writes headers of a few hundred bytes; a longer one is not a data file worth reading.
constexpr std::size_t kMaxNpyHeader = std::size_t{1} << 20;

struct NpyHeader {
  NpyType type = NpyType::f32;
  std::vector<int64_t> shape;
  std::size_t data_start = 0;
};

// The header from the file's first bytes (`head`; at least the header), checked against the whole file's
// size.
NpyHeader parse_header(const std::vector<unsigned char>& head, uint64_t file_size, const std::string& path) {
  if (head.size() < 10 || std::memcmp(head.data(), kMagic, 6) != 0)
    throw input_error(path, "not a .npy file (bad magic)");
  const int major = head[6];
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = head[8] | (static_cast<std::size_t>(head[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (head.size() < 12) throw input_error(path, "truncated .npy header");
    header_len = head[8] | (static_cast<std::size_t>(head[9]) << 8) |
                 (static_cast<std::size_t>(head[10]) << 16) | (static_cast<std::size_t>(head[11]) << 24);
    header_start = 12;
  } else {
    throw input_error(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > kMaxNpyHeader) throw input_error(path, "a .npy header of more than 1 MB");
  if (header_len > head.size() - header_start) throw input_error(path, "truncated .npy header");

  std::string descr;
  bool fortran = false;
  NpyHeader h;
  HeaderParser(std::string(head.begin() + static_cast<std::ptrdiff_t>(header_start),
                           head.begin() + static_cast<std::ptrdiff_t>(header_start + header_len)),
               path)
      .parse(descr, fortran, h.shape);
  h.type = parse_descr(descr, path);
  if (fortran)
    throw input_error(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray");

  h.data_start = header_start + header_len;
  const uint64_t available = file_size - h.data_start;
  const std::size_t isz = item_size(h.type);
  // The element count, and the product of the nonzero dimensions too: (0, 2^32, 2^32) holds nothing but would
  // still overflow the features a row has.
  uint64_t count = 1, nonzero = 1;
  for (int64_t d : h.shape) {
    const auto u = static_cast<uint64_t>(d);
    if (u != 0 && nonzero > (uint64_t{1} << 62) / u)
      throw input_error(path, "shape " + tuple_text(h.shape) + " is absurdly large");
    nonzero *= u != 0 ? u : 1;
    count *= u;
  }
  if (count > available / isz || count * isz != available)
    throw input_error(
        path, "data is " + std::to_string(available) + " bytes but the shape " + tuple_text(h.shape) +
                  " needs " + (count > available / isz ? std::string("more") : std::to_string(count * isz)));
  return h;
}

}  // namespace

NpyArray parse_npy(const std::vector<unsigned char>& bytes, const std::string& path) {
  NpyHeader h = parse_header(bytes, bytes.size(), path);
  NpyArray array;
  array.type = h.type;
  array.shape = std::move(h.shape);
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.data_start), bytes.end());
  return array;
}

std::vector<int64_t> read_npy_shape(const std::string& path) {
  // The header against the file's size first: a file whose shape does not hold is refused unread.
  const uint64_t size = file_size(path);
  if (size > kMaxDataFileBytes)
    throw input_error(path, "is " + std::to_string(size) + " bytes, more than the " +
                                std::to_string(kMaxDataFileBytes) + " modeconn reads from a data file");
  return parse_header(read_file_prefix(path, 12 + kMaxNpyHeader), size, path).shape;
}

NpyArray read_npy(const std::string& path) {
  read_npy_shape(path);
  return parse_npy(read_file(path, kMaxDataFileBytes), path);
}

std::vector<unsigned char> serialize_npy(const NpyArray& array) {
  std::string header =
      std::string("{'descr': '") + descr_of(array.type) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < array.shape.size(); ++i) {
    header += std::to_string(array.shape[i]);
    if (array.shape.size() == 1 || i + 1 < array.shape.size()) header += ",";
    if (i + 1 < array.shape.size()) header += " ";
  }
  header += "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // numpy aligns the data to 64 bytes
  header += '\n';
  std::vector<unsigned char> out(kMagic, kMagic + 6);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<unsigned char>(header.size() & 0xFF));
  out.push_back(static_cast<unsigned char>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.data.begin(), array.data.end());
  return out;
}

void write_npy(const NpyArray& array, const std::string& path) {
  const auto bytes = serialize_npy(array);
  write_file_atomic(path, bytes.data(), bytes.size());
}

NpyArray make_npy(const std::vector<float>& values, std::vector<int64_t> shape) {
  NpyArray a{NpyType::f32, std::move(shape), {}};
  a.data.resize(values.size() * 4);
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

NpyArray make_npy(const std::vector<int32_t>& values, std::vector<int64_t> shape) {
  NpyArray a{NpyType::i32, std::move(shape), {}};
  a.data.resize(values.size() * 4);
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

}  // namespace modeconn
