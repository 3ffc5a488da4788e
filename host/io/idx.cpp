// MNIST IDX files (plain or gzip): images as uint8 pixels scaled to [0, 1], labels as integers.
#include "io/idx.hpp"

#include <zlib.h>

#include <filesystem>

#include "modeconn/error.hpp"
#include "modeconn/file_util.hpp"

namespace modeconn {
namespace {

std::vector<unsigned char> read_maybe_gzip(const std::string& path) {
  std::vector<unsigned char> raw = read_file(path);
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw input_error(path, "cannot start gzip decompression");
  std::vector<unsigned char> out;
  std::vector<unsigned char> chunk(1 << 20);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw input_error(path, "corrupt or truncated gzip data");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(chunk.size() - zs.avail_out));
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw input_error(path, "truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  const auto bytes = read_maybe_gzip(path);
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) throw input_error(path, "not an IDX file (bad magic)");
  if (bytes[2] != 0x08) throw input_error(path, "IDX element type must be unsigned byte (0x08)");
  const int ndim = bytes[3];
  if (ndim < 1 || ndim > 4) throw input_error(path, "IDX file with " + std::to_string(ndim) + " dimensions");
  if (bytes.size() < 4 + 4 * static_cast<std::size_t>(ndim)) throw input_error(path, "truncated IDX header");
  IdxArray a;
  uint64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const uint32_t d = be32(bytes.data() + 4 + 4 * i);
    a.shape.push_back(d);
    count *= d;
    if (count > bytes.size()) throw input_error(path, "IDX shape needs more bytes than the file holds");
  }
  const std::size_t start = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() - start != count)
    throw input_error(path, "IDX data is " + std::to_string(bytes.size() - start) + " bytes but the shape needs " +
                                std::to_string(count));
  a.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(start), bytes.end());
  return a;
}

std::string find_idx_file(const std::string& folder, const std::string& stem) {
  for (const char* suffix : {"", ".gz"}) {
    const auto p = std::filesystem::path(folder) / (stem + suffix);
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

}  // namespace modeconn
