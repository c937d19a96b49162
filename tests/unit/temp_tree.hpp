// A directory tree under /tmp for one test, removed at its end.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace kplug::test {

namespace fs = std::filesystem;

struct TempTree {
  fs::path root;
  TempTree() {
    root = fs::temp_directory_path() / fs::path("kplug-rules-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(root);
  }
  ~TempTree() { fs::remove_all(root); }
  std::string write(const std::string& rel, const std::string& text) {
    fs::path p = root / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
  std::string dir(const std::string& rel) {
    fs::create_directories(root / rel);
    return root / rel;
  }
};

}  // namespace kplug::test
