// MNIST IDX files: private to host/io.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace modeconn {

struct IdxArray {
  std::vector<int64_t> shape;
  std::vector<unsigned char> values;
};

// An IDX file of unsigned bytes from its raw contents, decompressed first if they are gzip (every member, and
// no more bytes than the header's dimensions give). `path` names it in messages.
IdxArray parse_idx(const std::vector<unsigned char>& raw, const std::string& path);
// Reads and parses an IDX file.
IdxArray read_idx(const std::string& path);
// The path of `stem` or `stem.gz` in `folder`, or "" when neither exists.
std::string find_idx_file(const std::string& folder, const std::string& stem);

}  // namespace modeconn
