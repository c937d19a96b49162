// Reading a configuration-sized file safely: only a regular file, never more than a cap,
// and never blocking on a FIFO or a device that a link points to.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.hpp"

namespace kplug {

struct FileError {
  int error = 0;         // errno, or 0 for "not a regular file" and "too large"
  std::string message;   // "not a regular file: it is a FIFO", "larger than 1 MiB", strerror(errno)
};

inline constexpr std::size_t max_config_file = 1u << 20;

// The whole of PATH (links are followed: a rule file may be a link to a real file).
Result<std::string, FileError> read_regular_file(const std::string& path, std::size_t max_bytes = max_config_file);

}  // namespace kplug
