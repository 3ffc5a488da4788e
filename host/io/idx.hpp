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

// Reads an IDX file of unsigned bytes, decompressing it first if it is gzip.
IdxArray read_idx(const std::string& path);
// The path of `stem` or `stem.gz` in `folder`, or "" when neither exists.
std::string find_idx_file(const std::string& folder, const std::string& stem);

}  // namespace modeconn
