// The files a command writes, planned before any work: none may be a file the command reads, and all are put
// in place together or not at all. Nothing a user gave is ever overwritten.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modeconn/file_util.hpp"

namespace modeconn::cli {

class Outputs {
 public:
  // A file the command reads.
  void input(const std::string& path);
  // Every file a data set is read from: each regular file of a data folder (or of builtin:fashion-mnist's).
  void data_inputs(const std::string& spec);
  // Every regular file directly in `folder` (a sweep folder's manifests, its pairs/ folder's results).
  void folder_inputs(const std::string& folder);

  // An output; `option` names it in messages ("--json"). Empty paths are ignored.
  void output(const std::string& option, const std::string& path);

  // Refuses, before any work: an output that is an input (by file identity: device and inode, so links and
  // other spellings of a path count), two outputs that are one file, an output that is a folder or whose
  // folder is missing. Throws a usage or input error naming the files.
  void check() const;

  // The contents of a planned output, kept in a temporary file beside it until commit().
  void stage(const std::string& path, std::string_view content);
  void stage(const std::string& path, const std::vector<unsigned char>& bytes) {
    stage(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  // Puts every staged output in place, all or none.
  void commit();
  // The outputs committed so far, as given.
  const std::vector<std::string>& written() const { return written_; }

 private:
  struct Planned {
    std::string option, path;
  };
  std::vector<std::string> inputs_;
  std::vector<Planned> outputs_;
  std::vector<std::unique_ptr<AtomicFile>> staged_;
  std::vector<std::string> written_;
};

}  // namespace modeconn::cli
