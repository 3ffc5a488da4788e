// Output planning: identity checks against the inputs and each other, then an all-or-nothing commit.
#include "cli/outputs.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>

#include "cli/with_option.hpp"
#include "modeconn/dataset.hpp"
#include "modeconn/error.hpp"

namespace modeconn::cli {
namespace {

namespace fs = std::filesystem;

// A path with its folder's links resolved and `.` and `..` gone, so that two spellings of one new file
// compare equal. Folders are resolved once each: a sweep plans hundreds of thousands of outputs in one
// folder.
class Resolver {
 public:
  std::string operator()(const std::string& path) {
    const fs::path p = fs::path(path).lexically_normal();
    const std::string name = p.filename().string();
    if (name.empty() || name == "." || name == "..") return folder(p.string());
    return (fs::path(folder(p.parent_path().string())) / name).string();
  }

 private:
  const std::string& folder(const std::string& f) {
    auto [it, fresh] = cache_.emplace(f, "");
    if (fresh) {
      std::error_code ec;
      const fs::path r = fs::weakly_canonical(fs::absolute(f.empty() ? "." : f, ec), ec);
      it->second = ec ? fs::path(f).lexically_normal().string() : r.string();
    }
    return it->second;
  }
  std::map<std::string, std::string> cache_;
};

// Device and inode of an existing file (following links), or false.
bool identity(const std::string& path, std::pair<dev_t, ino_t>* id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *id = {st.st_dev, st.st_ino};
  return true;
}

}  // namespace

void Outputs::input(const std::string& path) {
  if (!path.empty()) inputs_.push_back(path);
}

void Outputs::data_inputs(const std::string& spec) {
  folder_inputs(with_option("--data", [&] { return resolve_data_folder(spec); }));
}

void Outputs::folder_inputs(const std::string& folder) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) inputs_.push_back(it->path().string());
  }
}

void Outputs::output(const std::string& option, const std::string& path) {
  if (!path.empty()) outputs_.push_back({option, path});
}

void Outputs::check() const {
  // Sets, not pairs of loops: a sweep plans an output per pair, hundreds of thousands of them.
  Resolver resolved;
  std::map<std::pair<dev_t, ino_t>, std::string> input_ids;
  std::map<std::string, std::string> input_paths;
  for (const auto& in : inputs_) {
    std::pair<dev_t, ino_t> id;
    if (identity(in, &id)) input_ids.emplace(id, in);
    input_paths.emplace(resolved(in), in);
  }
  std::map<std::string, const Planned*> seen;
  std::map<std::pair<dev_t, ino_t>, const Planned*> seen_ids;
  std::set<std::string> folders_checked;
  std::error_code ec;
  for (const Planned& o : outputs_) {
    const fs::path parent = fs::path(o.path).parent_path();
    const bool new_folder = folders_checked.insert(parent.string()).second;
    if (new_folder && !parent.empty() && !fs::is_directory(parent, ec))
      throw input_error(o.path, "the folder for " + o.option + " does not exist (" + parent.string() + ")");
    std::pair<dev_t, ino_t> id;
    const bool exists = identity(o.path, &id);
    if (exists && fs::is_directory(o.path, ec))
      throw input_error(o.path, o.option + " names a folder, not a file");
    // Probed once per folder for new files (a sweep plans many in one), always for existing ones: each may be
    // read-only on its own.
    if (new_folder || exists) AtomicFile::check_writable(o.path);
    // Through its links: a dangling link names the file it would create.
    const std::string where = resolved(resolve_links(o.path));
    const std::string* input = nullptr;
    if (const auto it = input_paths.find(where); it != input_paths.end()) input = &it->second;
    if (const auto it = exists ? input_ids.find(id) : input_ids.end(); it != input_ids.end())
      input = &it->second;
    if (input)
      throw usage_error(o.option + " " + o.path + " is " + (*input == o.path ? "" : *input + ", ") +
                        "a file this command reads; refusing to overwrite it");
    const Planned* twin = nullptr;
    if (const auto [it, fresh] = seen.emplace(where, &o); !fresh) twin = it->second;
    if (exists)
      if (const auto [it, fresh] = seen_ids.emplace(id, &o); !fresh) twin = it->second;
    if (twin)
      throw usage_error(o.option + " " + o.path + " and " + twin->option + " " + twin->path +
                        " are the same file; give each output its own");
  }
}

void Outputs::stage(const std::string& path, std::string_view content) {
  bool planned = false;
  for (const auto& o : outputs_) planned = planned || o.path == path;
  MODECONN_EXPECTS(planned, "an output is planned before it is staged");
  staged_.push_back(std::make_unique<AtomicFile>(path));
  staged_.back()->write(content.data(), content.size());
}

void Outputs::commit() {
  std::vector<AtomicFile*> files;
  for (auto& f : staged_) files.push_back(f.get());
  AtomicFile::commit_together(files);
  for (const auto* f : files) written_.push_back(f->path());
  staged_.clear();
}

}  // namespace modeconn::cli
