// Whole-file reads and atomic writes (temporary file + fsync + rename), committed alone or as a set.
#include "modeconn/file_util.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

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

std::string host_tag() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "host";
  std::string s = name;
  for (char& c : s)
    if (c == '-' || c == '/' || c == '.') c = '_';  // the name is parsed back out of DEST.tmp-HOST-PID-N
  return s;
}

// "DEST.tmp-HOST-PID-N" or "DEST.old-HOST-PID-N": the host and pid that wrote it, or false.
bool parse_temporary(const std::string& name, std::string* host, long* pid) {
  for (const char* tag : {".tmp-", ".old-"}) {
    const std::size_t at = name.rfind(tag);
    if (at == std::string::npos) continue;
    const std::string rest = name.substr(at + 5);  // HOST-PID-N
    const std::size_t last = rest.rfind('-');
    if (last == std::string::npos || last == 0) continue;
    const std::size_t mid = rest.rfind('-', last - 1);
    if (mid == std::string::npos || mid == 0) continue;
    const std::string pid_text = rest.substr(mid + 1, last - mid - 1);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
        pid_text.size() > 9)
      continue;
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

}  // namespace

std::string temporary_host_tag() { return host_tag(); }

void expect_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw input_error(path, "is a folder, not a file");
  if (!S_ISREG(st.st_mode))
    throw input_error(path, "is not a regular file (a pipe, socket or device cannot be read)");
}

std::vector<unsigned char> read_file(const std::string& path) {
  expect_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw input_error(path, "cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw input_error(path, "read failed");
  return bytes;
}

int remove_stale_temporaries(const std::string& folder) {
  const std::string me = host_tag();
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string host;
    long pid = 0;
    if (!parse_temporary(it->path().filename().string(), &host, &pid)) continue;
    if (host != me || process_alive(pid)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  if (fs::is_directory(path_, ec)) throw input_error(path_, "output is a folder, not a file");
  const std::string parent = folder_of(path_);
  if (!fs::is_directory(parent, ec)) throw input_error(path_, "output folder " + parent + " does not exist");
  remove_stale_temporaries(parent);
  for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
    tmp_path_ = path_ + unique_suffix(".tmp-");
    fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) throw input_error(path_, std::string("cannot create output: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  MODECONN_EXPECTS(fd_ >= 0, "write after commit");
  const char* p = static_cast<const char*>(data);
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
  MODECONN_EXPECTS(fd_ >= 0, "commit twice");
  const bool synced = ::fsync(fd_) == 0;
  const int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (!synced) throw input_error(path_, std::string("cannot write output: ") + std::strerror(err));
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
    for (const auto& b : backups)
      if (!b.empty()) ::unlink(b.c_str());
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string& dest = files[i]->path_;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) != 0) continue;  // nothing there yet
    if (!S_ISLNK(st.st_mode) && ::access(dest.c_str(), W_OK) != 0) {
      drop_backups();
      throw input_error(dest, "is read-only; refusing to replace it (nothing was written)");
    }
    const std::string backup = dest + unique_suffix(".old-");
    if (::link(dest.c_str(), backup.c_str()) == 0) {
      backups[i] = backup;
    } else if (errno == EPERM || errno == EACCES) {
      const int e = errno;
      drop_backups();
      throw input_error(dest,
                        std::string("cannot be replaced (") + std::strerror(e) + "); nothing was written");
    }  // a file system without hard links: replaced without a way back
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    AtomicFile& f = *files[i];
    if (std::rename(f.tmp_path_.c_str(), f.path_.c_str()) == 0) {
      f.tmp_path_.clear();
      continue;
    }
    const int e = errno;
    for (std::size_t j = 0; j < i; ++j) {  // put back what this set already replaced
      if (!backups[j].empty())
        std::rename(backups[j].c_str(), files[j]->path_.c_str());
      else
        ::unlink(files[j]->path_.c_str());
      backups[j].clear();
    }
    drop_backups();
    throw input_error(f.path_,
                      std::string("cannot write output: ") + std::strerror(e) + "; nothing was written");
  }
  drop_backups();
}

void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  AtomicFile file(path);
  file.write(data, size);
  file.commit();
}

}  // namespace modeconn
