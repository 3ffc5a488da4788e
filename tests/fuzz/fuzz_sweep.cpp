// libFuzzer target: a sweep folder's files through merge. The input is split at its first NUL byte: the part
// before is the manifest, the part after the result of pair (0, 1); each goes to a file of a private folder.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "modeconn/error.hpp"
#include "modeconn/sweep.hpp"

namespace {

// A folder of this process's own, removed when it exits.
const std::filesystem::path& folder() {
  static const std::filesystem::path f = [] {
    const auto p =
        std::filesystem::temp_directory_path() / ("modeconn-fuzz-sweep-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p / "pairs");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(folder(), ec);
    });
    return p;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(text, 0, size);
  const std::size_t split = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - text) : size;
  std::ofstream(folder() / "manifest-0-of-1.json", std::ios::binary | std::ios::trunc)
      .write(text, static_cast<std::streamsize>(split));
  const std::size_t rest = nul ? size - split - 1 : 0;
  std::ofstream(folder() / "pairs" / "pair-0000-0001.json", std::ios::binary | std::ios::trunc)
      .write(text + size - rest, static_cast<std::streamsize>(rest));
  try {
    (void)modeconn::merge_sweep(folder().string());
  } catch (const modeconn::Error&) {
  }
  return 0;
}
