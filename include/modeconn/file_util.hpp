// Whole-file reads and atomic writes: a failed or killed run never leaves a partial output file, and a set of
// outputs is put in place all together or not at all.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace modeconn {

// The whole of a regular file (a FIFO, device or folder is refused: reading one could block or never end).
std::vector<unsigned char> read_file(const std::string& path);
// Throws an input error unless `path` is a regular file (following links).
void expect_regular_file(const std::string& path);

// Collects an output in a temporary file beside its destination (named DEST.tmp-HOST-PID-N); commit() renames
// it into place. Destroyed without commit(), it removes the temporary file, leaving any earlier file
// untouched. Making one also removes the temporaries this host's dead processes left for the same
// destination.
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

  // Commits several files together: every destination is replaced, or none is. A destination that cannot be
  // replaced (immutable, or read-only for this user) fails the whole set before any is touched; a rename that
  // fails midway puts back the destinations already replaced.
  static void commit_together(std::span<AtomicFile* const> files);

 private:
  void flush_and_close();
  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
};

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);

// This host's name as temporary files carry it (HOST in DEST.tmp-HOST-PID-N).
std::string temporary_host_tag();

// Removes the temporary files (DEST.tmp-HOST-PID-N, DEST.old-HOST-PID-N) that processes of this host which
// are no longer running left in `folder`, as a killed run does. Others' (live, or of other hosts sharing the
// folder) stay. Returns how many were removed.
int remove_stale_temporaries(const std::string& folder);

}  // namespace modeconn
