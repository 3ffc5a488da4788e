// Whole-file reads with size caps, and atomic writes (temporary file + fsync + rename) committed alone or as
// a set.
#include "modeconn/file_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "modeconn/error.hpp"

namespace modeconn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTemporaryTag = ".modeconn-tmp-";
constexpr const char* kBackupTag = ".modeconn-old-";

std::string host_tag() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "host";
  std::string s = name;
  for (char& c : s)
    if (c == '-' || c == '/' || c == '.')
      c = '_';  // the name is parsed back out of DEST.modeconn-tmp-HOST-PID-N
  return s;
}

// "DEST.modeconn-tmp-HOST-PID-N" (or -old-): the destination's name and the host and pid that wrote it, or
// false.
bool parse_temporary(const std::string& name, std::string* dest, std::string* host, long* pid) {
  for (const char* tag : {kTemporaryTag, kBackupTag}) {
    const std::size_t at = name.rfind(tag);
    if (at == std::string::npos || at == 0) continue;
    const std::string rest = name.substr(at + std::strlen(tag));  // HOST-PID-N
    const std::size_t last = rest.rfind('-');
    if (last == std::string::npos || last == 0) continue;
    const std::size_t mid = rest.rfind('-', last - 1);
    if (mid == std::string::npos || mid == 0) continue;
    const std::string pid_text = rest.substr(mid + 1, last - mid - 1);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
        pid_text.size() > 9)
      continue;
    *dest = name.substr(0, at);
    *host = rest.substr(0, mid);
    *pid = std::stol(pid_text);
    return true;
  }
  return false;
}

bool process_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

std::string unique_suffix(const char* tag) {
  static std::random_device rd;
  return std::string(tag) + host_tag() + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(rd() % 1000000);
}

std::string folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

std::vector<unsigned char> read_bytes(const std::string& path, uint64_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(count));
  if (count > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(count)))
    throw input_error(path, "read failed (did the file change while it was read?)");
  return bytes;
}

}  // namespace

// Through the links, as a shell redirection writes: replacing the file keeps the link.
std::string resolve_links(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::error_code ec;
    const fs::path to = fs::read_symlink(p, ec);
    if (ec) throw input_error(path, "cannot read the link: " + ec.message());
    p = to.is_absolute() ? to.string() : (fs::path(p).parent_path() / to).string();
  }
  throw input_error(path, "is a link in a loop of links");
}

namespace {

// True for an existing target that is not a regular file: a device such as /dev/null or /dev/stdout, or a
// pipe. Such an output is written as it is, not replaced.
bool written_in_place(const std::string& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) return false;
  if (S_ISDIR(st.st_mode)) throw input_error(target, "output is a folder, not a file");
  return !S_ISREG(st.st_mode);
}

}  // namespace

std::string temporary_host_tag() { return host_tag(); }

uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw input_error(path, "is a folder, not a file");
  if (!S_ISREG(st.st_mode))
    throw input_error(path, "is not a regular file (a pipe, socket or device cannot be read)");
  return static_cast<uint64_t>(st.st_size);
}

void expect_regular_file(const std::string& path) { (void)file_size(path); }

std::vector<unsigned char> read_file(const std::string& path, uint64_t max_bytes) {
  const uint64_t size = file_size(path);
  if (size > max_bytes)
    throw input_error(path, "is " + std::to_string(size) + " bytes, more than the " +
                                std::to_string(max_bytes) + " modeconn reads from such a file");
  return read_bytes(path, size);
}

std::vector<unsigned char> read_file_prefix(const std::string& path, uint64_t bytes) {
  return read_bytes(path, std::min(bytes, file_size(path)));
}

int remove_stale_temporaries(const std::string& folder, const std::function<bool(const std::string&)>& ours) {
  const std::string me = host_tag();
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string dest, host;
    long pid = 0;
    if (!parse_temporary(it->path().filename().string(), &dest, &host, &pid)) continue;
    if (host != me || process_alive(pid) || !ours(dest)) continue;
    std::error_code rm;
    if (it->is_regular_file(rm) && fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

void AtomicFile::check_writable(const std::string& path) {
  const std::string target = resolve_links(path);
  if (written_in_place(target)) {
    if (::access(target.c_str(), W_OK) != 0)
      throw input_error(path, std::string("cannot be written: ") + std::strerror(errno));
    return;
  }
  const std::string parent = folder_of(target);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) throw input_error(path, "output folder " + parent + " does not exist");
  // A file of the temporary's name made and removed: the folder takes new files, the name is not too long.
  const std::string probe = target + unique_suffix(kTemporaryTag);
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw input_error(path, std::string("cannot create output: ") + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0) return;  // a new file
  if (::access(target.c_str(), W_OK) != 0) throw input_error(path, "is read-only; refusing to replace it");
  // Linking an immutable file fails: the replacement would fail too, at the end of the work.
  const std::string link = target + unique_suffix(kBackupTag);
  if (::link(target.c_str(), link.c_str()) == 0) {
    ::unlink(link.c_str());
  } else if (errno == EPERM || errno == EACCES) {
    throw input_error(path, std::string("cannot be replaced (") + std::strerror(errno) + ")");
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), target_(resolve_links(path_)) {
  if (written_in_place(target_)) {
    in_place_ = true;  // collected in memory, written at commit
    return;
  }
  const std::string parent = folder_of(target_);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) throw input_error(path_, "output folder " + parent + " does not exist");
  const std::string name = fs::path(target_).filename().string();
  remove_stale_temporaries(parent, [&](const std::string& dest) { return dest == name; });
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    tmp_path_ = target_ + unique_suffix(kTemporaryTag);
    fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const int e = errno;
    tmp_path_.clear();
    throw input_error(path_, std::string("cannot create output: ") + std::strerror(e));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  if (in_place_) {
    pending_.insert(pending_.end(), p, p + size);
    return;
  }
  MODECONN_EXPECTS(fd_ >= 0, "write after commit");
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::flush_and_close() {
  if (in_place_) return;
  MODECONN_EXPECTS(fd_ >= 0, "commit twice");
  const bool synced = ::fsync(fd_) == 0;
  const int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (!synced) throw input_error(path_, std::string("cannot write output: ") + std::strerror(err));
}

void AtomicFile::write_in_place() {
  const int fd = ::open(target_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw input_error(path_, std::string("cannot write output: ") + std::strerror(errno));
  const char* p = pending_.data();
  std::size_t left = pending_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw input_error(path_, std::string("write failed: ") + std::strerror(e));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  ::close(fd);
  pending_.clear();
}

void AtomicFile::commit() {
  AtomicFile* self = this;
  commit_together({&self, 1});
}

void AtomicFile::commit_together(std::span<AtomicFile* const> files) {
  for (AtomicFile* f : files) f->flush_and_close();
  // A backup link to each destination that exists: it proves the destination can be replaced (linking an
  // immutable file fails) and lets a failure midway put the old contents back.
  std::vector<std::string> backups(files.size());
  const auto drop_backups = [&] {
    for (auto& b : backups)
      if (!b.empty()) ::unlink(b.c_str());
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files[i]->in_place_) continue;
    const std::string& dest = files[i]->target_;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) != 0) continue;  // nothing there yet
    if (::access(dest.c_str(), W_OK) != 0) {
      drop_backups();
      throw input_error(files[i]->path_, "is read-only; refusing to replace it (nothing was written)");
    }
    const std::string backup = dest + unique_suffix(kBackupTag);
    if (::link(dest.c_str(), backup.c_str()) == 0) {
      backups[i] = backup;
    } else if (errno == EPERM || errno == EACCES) {
      const int e = errno;
      drop_backups();
      throw input_error(files[i]->path_,
                        std::string("cannot be replaced (") + std::strerror(e) + "); nothing was written");
    }  // a file system without hard links: replaced without a way back
  }
  std::size_t renamed = 0;
  const auto roll_back = [&] {  // put back what this set already replaced
    for (std::size_t j = 0; j < renamed; ++j) {
      if (files[j]->in_place_) continue;
      if (!backups[j].empty())
        std::rename(backups[j].c_str(), files[j]->target_.c_str());
      else
        ::unlink(files[j]->target_.c_str());
      backups[j].clear();
    }
    drop_backups();
  };
  for (; renamed < files.size(); ++renamed) {
    AtomicFile& f = *files[renamed];
    if (f.in_place_) continue;
    if (std::rename(f.tmp_path_.c_str(), f.target_.c_str()) != 0) {
      const int e = errno;
      roll_back();
      throw input_error(f.path_,
                        std::string("cannot write output: ") + std::strerror(e) + "; nothing was written");
    }
    f.tmp_path_.clear();
  }
  // Devices and pipes last: what they received cannot be taken back.
  for (AtomicFile* f : files)
    if (f->in_place_) {
      try {
        f->write_in_place();
      } catch (...) {
        roll_back();
        throw;
      }
    }
  drop_backups();
}

void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  AtomicFile file(path);
  file.write(data, size);
  file.commit();
}

}  // namespace modeconn
