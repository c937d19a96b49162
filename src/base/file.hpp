// Reading a configuration-sized file safely: only a regular file, never more than a cap,
// and never blocking on a FIFO or a device that a link points to. Writing a file kplugd
// owns (state, metrics) the one safe way: write_file_replacing.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.hpp"

namespace kplug {

struct FileError {
  int error = 0;         // errno, or 0 for "not a regular file" and "too large"
  std::string message;   // "not a regular file: it is a FIFO", "larger than 1 MiB", strerror(errno)
  bool too_large = false;
};

inline constexpr std::size_t max_config_file = 1u << 20;

// A descriptor, closed when it goes out of scope (-1: none).
struct UniqueFd {
  int fd = -1;
  explicit UniqueFd(int f) : fd(f) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
};

// The whole of PATH (links are followed: a rule file may be a link to a real file).
Result<std::string, FileError> read_regular_file(const std::string& path, std::size_t max_bytes = max_config_file);

// An input a kplug verb reads whole: PATH (a file, or a pipe such as `<(cmd)`; a directory
// is refused), or standard input when PATH is "-"; at most MAX_BYTES, never more in memory.
Result<std::string, FileError> read_input(const std::string& path, std::size_t max_bytes);

// How write_file_replacing may treat the directory.
struct WritePolicy {
  // The directory may belong to another user or be writable by group or others (the
  // administrator said so: node_exporter's textfile directory is the prometheus user's).
  // Without it such a directory is refused, naming what to change.
  bool shared_dir = false;
  bool sync = false;  // fsync before the rename (state that must survive a crash)
};

// Replaces PATH with TEXT atomically and without following a link or blocking: the
// directory opened without following a link and checked (POLICY), a leftover temporary
// removed, the temporary PATH.tmp created exclusively (O_EXCL|O_NOFOLLOW|O_NONBLOCK)
// relative to it, checked to be a regular file, written, renamed over PATH. A FIFO, a link
// or a file planted as PATH.tmp is never opened for writing; the write is refused instead.
Result<bool, FileError> write_file_replacing(const std::string& path, const std::string& text,
                                             WritePolicy policy = {});

}  // namespace kplug
