// MNIST IDX files (plain or gzip): images as uint8 pixels scaled to [0, 1], labels as integers.
#include "io/idx.hpp"

#include <zlib.h>

#include <filesystem>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"

namespace modeconn {
namespace {

constexpr std::size_t kMaxIdxHeader = 4 + 4 * 255;

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Inflates gzip data, every member of a multi-member file as gzip -d does, and at most `limit` bytes of it:
// with `exact`, more than `limit` is an error (a small file must not expand into gigabytes); without,
// inflating stops there (to read a header first).
std::vector<unsigned char> gunzip(const std::vector<unsigned char>& raw, std::size_t limit, bool exact,
                                  const std::string& path) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw input_error(path, "cannot start gzip decompression");
  std::vector<unsigned char> out;
  std::vector<unsigned char> chunk(1 << 16);
  zs.next_in = const_cast<unsigned char*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  const auto fail = [&](const std::string& why) {
    inflateEnd(&zs);
    throw input_error(path, why);
  };
  for (;;) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END)
      fail(std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "inflate failed") + ")");
    const std::size_t produced = chunk.size() - zs.avail_out;
    if (out.size() + produced > limit) {
      if (exact)
        fail("gzip data expands to more than the " + std::to_string(limit) + " bytes its IDX header gives");
      out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(limit - out.size()));
      break;
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(produced));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) fail("corrupt gzip data");  // the next member
      continue;
    }
    if (zs.avail_in == 0 && produced == 0) fail("truncated gzip data");
  }
  inflateEnd(&zs);
  return out;
}

// The size an IDX file has by its header (magic, dimensions, data); 0 when the header is incomplete.
std::size_t idx_size_from_header(const std::vector<unsigned char>& head, const std::string& path) {
  if (head.size() < 4) return 0;
  const int ndim = head[3];
  if (head.size() < 4 + 4 * static_cast<std::size_t>(ndim)) return 0;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    count *= be32(head.data() + 4 + 4 * i);
    if (count > (uint64_t{1} << 40)) throw input_error(path, "IDX shape is absurdly large");
  }
  return static_cast<std::size_t>(4 + 4 * static_cast<uint64_t>(ndim) + count);
}

}  // namespace

IdxArray parse_idx(const std::vector<unsigned char>& raw, const std::string& path) {
  std::vector<unsigned char> inflated;
  const std::vector<unsigned char>* bytes = &raw;
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
    // The header first, then the whole file, held to the size the header gives.
    const std::size_t expected = idx_size_from_header(gunzip(raw, kMaxIdxHeader, false, path), path);
    // Deflate expands at most 1032:1: a header claiming more than that of this file is not believed either.
    const std::size_t most = raw.size() * 1032 + kMaxIdxHeader;
    if (expected > most)
      throw input_error(path, "its IDX header claims " + std::to_string(expected) + " bytes, more than " +
                                  std::to_string(raw.size()) + " bytes of gzip data can hold");
    inflated = gunzip(raw, expected == 0 ? kMaxIdxHeader : expected, true, path);
    bytes = &inflated;
  }
  if (bytes->size() < 4 || (*bytes)[0] != 0 || (*bytes)[1] != 0)
    throw input_error(path, "not an IDX file (bad magic)");
  if ((*bytes)[2] != 0x08) throw input_error(path, "IDX element type must be unsigned byte (0x08)");
  const int ndim = (*bytes)[3];
  if (ndim < 1 || ndim > 4) throw input_error(path, "IDX file with " + std::to_string(ndim) + " dimensions");
  if (bytes->size() < 4 + 4 * static_cast<std::size_t>(ndim)) throw input_error(path, "truncated IDX header");
  IdxArray a;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const uint32_t d = be32(bytes->data() + 4 + 4 * i);
    a.shape.push_back(d);
    if (__builtin_mul_overflow(count, uint64_t{d}, &count) || count > bytes->size())
      throw input_error(path, "IDX shape needs more bytes than the file holds");
  }
  const std::size_t start = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes->size() - start != count)
    throw input_error(path, "IDX data is " + std::to_string(bytes->size() - start) +
                                " bytes but the shape needs " + std::to_string(count));
  a.values.assign(bytes->begin() + static_cast<std::ptrdiff_t>(start), bytes->end());
  return a;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_file(path, kMaxDataFileBytes), path); }

std::string find_idx_file(const std::string& folder, const std::string& stem) {
  for (const char* suffix : {"", ".gz"}) {
    const auto p = std::filesystem::path(folder) / (stem + suffix);
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

}  // namespace modeconn
