// Whole-file reads and atomic writes: a failed or killed run never leaves a partial output file, and a set of
// outputs is put in place all together or not at all.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace modeconn {

// The caps on what each kind of file may weigh: beyond them a file is refused before it is read (a sparse
// file of hundreds of gigabytes costs nothing to make).
constexpr uint64_t kMaxDataFileBytes = uint64_t{16} << 30;  // .npy and IDX files of a data set
constexpr uint64_t kMaxTextFileBytes = uint64_t{64} << 20;  // config files, sweep manifests and results

// The whole of a regular file of at most `max_bytes` (a FIFO, device or folder is refused: reading one could
// block or never end).
std::vector<unsigned char> read_file(const std::string& path, uint64_t max_bytes);
// Its first `bytes` bytes (fewer if it is shorter).
std::vector<unsigned char> read_file_prefix(const std::string& path, uint64_t bytes);
// The size of a regular file (refusing anything else, as read_file does).
uint64_t file_size(const std::string& path);
// Throws an input error unless `path` is a regular file (following links).
void expect_regular_file(const std::string& path);

// Collects an output in a temporary file beside its destination (named DEST.modeconn-tmp-HOST-PID-N);
// commit() renames it into place. Destroyed without commit(), it removes the temporary file, leaving any
// earlier file untouched. Making one also removes the temporaries this host's dead processes left for the
// same destination. A destination that is a symbolic link is written through the link (the link stays); one
// that is a device or a pipe (/dev/stdout) is written in place at commit, after the files of its set.
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

  // Refuses, before any work, an output that could not be committed: a folder that takes no new file, a name
  // too long, a destination that is read-only or immutable.
  static void check_writable(const std::string& path);

 private:
  void flush_and_close();
  void write_in_place();
  std::string path_;    // as given
  std::string target_;  // where it lands, through links
  std::string tmp_path_;
  int fd_ = -1;
  bool in_place_ = false;      // a device or a pipe: written at commit
  std::vector<char> pending_;  // what it receives until then
};

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, const void* data, std::size_t size);

// Where writing `path` lands: its symbolic links followed (relative ones from their own folder), to a name
// that need not exist yet.
std::string resolve_links(const std::string& path);

// This host's name as temporary files carry it (HOST in DEST.modeconn-tmp-HOST-PID-N).
std::string temporary_host_tag();

// Removes the temporary files (DEST.modeconn-tmp-HOST-PID-N, DEST.modeconn-old-HOST-PID-N) that processes of
// this host which are no longer running left in `folder` for destinations `ours` accepts (by name), as a
// killed run does. Others' (live, of other hosts sharing the folder, or for other destinations) stay. Returns
// how many.
int remove_stale_temporaries(const std::string& folder, const std::function<bool(const std::string&)>& ours);

}  // namespace modeconn
