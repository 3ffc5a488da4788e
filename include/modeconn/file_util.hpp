// Whole-file reads and atomic writes: a failed or killed run never leaves a partial output file.
#pragma once

#include <string>
#include <vector>

namespace modeconn {

std::vector<unsigned char> read_file(const std::string& path);

// Collects an output in a temporary file beside its destination; commit() renames it into place.
// Destroyed without commit(), it removes the temporary file, leaving any earlier file untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  void write(const void* data, std::size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
};

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);

}  // namespace modeconn
