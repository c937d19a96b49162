// open(O_NONBLOCK) then fstat: a FIFO or a device is refused before any read. Writes go
// through a checked directory descriptor and an exclusively created temporary file.
#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace kplug {

namespace {
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "something else";
}
}  // namespace

Result<std::string, FileError> read_regular_file(const std::string& path, std::size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  UniqueFd file(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (file.fd < 0) return unexpected(FileError{errno, std::strerror(errno)});
  struct stat st {};
  if (fstat(file.fd, &st) < 0) return unexpected(FileError{errno, std::strerror(errno)});
  if (!S_ISREG(st.st_mode))
    return unexpected(FileError{0, fmt::format("not a regular file: it is {}", kind_of(st.st_mode))});
  auto too_large = [&] {
    return FileError{0, fmt::format("larger than {} KiB; a file this size is a mistake", max_bytes / 1024), true};
  };
  if (static_cast<std::size_t>(st.st_size) > max_bytes) return unexpected(too_large());
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = read(file.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected(FileError{errno, std::strerror(errno)});
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) return unexpected(too_large());  // it grew while we read
  }
  return text;
}

UniqueFd::~UniqueFd() {
  if (fd >= 0) close(fd);
}

namespace {
Result<bool, FileError> file_failed(int err, const std::string& what) {
  return unexpected(FileError{err, fmt::format("{}: {}", what, std::strerror(err))});
}
}  // namespace

Result<bool, FileError> write_file_replacing(const std::string& path, const std::string& text, WritePolicy policy) {
  std::filesystem::path p(path);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") return unexpected(FileError{0, "not a file name: " + path});
  std::string tmp = name + ".tmp";

  UniqueFd d{open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (d.fd < 0) return file_failed(errno, "cannot open the directory " + dir);
  struct stat st {};
  if (fstat(d.fd, &st) < 0) return file_failed(errno, "cannot check the directory " + dir);
  if (!policy.shared_dir && st.st_uid != geteuid())
    return unexpected(FileError{0, fmt::format("the directory {} belongs to uid {}, who could replace what is "
                                               "written there (chown it, or say the directory is shared)",
                                               dir, st.st_uid)});
  if (!policy.shared_dir && (st.st_mode & (S_IWGRP | S_IWOTH)))
    return unexpected(FileError{0, fmt::format("the directory {} is writable by group or others (mode {:04o}; "
                                               "chmod go-w it, or say the directory is shared)",
                                               dir, st.st_mode & 07777)});

  // A leftover (a crash, or something planted) is removed, never written through.
  if (unlinkat(d.fd, tmp.c_str(), 0) < 0 && errno != ENOENT)
    return file_failed(errno, "cannot remove " + dir + "/" + tmp);
  UniqueFd f{openat(d.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644)};
  if (f.fd < 0) return file_failed(errno, "cannot create " + dir + "/" + tmp);
  auto undo = [&](int err, const std::string& what) {
    unlinkat(d.fd, tmp.c_str(), 0);
    return file_failed(err, what);
  };
  if (fstat(f.fd, &st) < 0) return undo(errno, "cannot check " + dir + "/" + tmp);
  if (!S_ISREG(st.st_mode))
    return unexpected(FileError{0, fmt::format("{}/{} is {}, not a regular file", dir, tmp, kind_of(st.st_mode))});
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(f.fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return undo(errno, "cannot write " + dir + "/" + tmp);
    if (n == 0) return undo(ENOSPC, "cannot write " + dir + "/" + tmp);
    done += static_cast<std::size_t>(n);
  }
  if (policy.sync && fsync(f.fd) < 0) return undo(errno, "cannot write " + dir + "/" + tmp);
  if (renameat(d.fd, tmp.c_str(), d.fd, name.c_str()) < 0) return undo(errno, "cannot replace " + path);
  return true;
}

Result<std::string, FileError> read_input(const std::string& path, std::size_t max_bytes) {
  auto too_large = [&](const std::string& what) {
    return FileError{0, fmt::format("{} is larger than {} KiB", what, max_bytes / 1024), true};
  };
  int fd = STDIN_FILENO;
  if (path != "-") {
    // A pipe (`<(cmd)`) or a device is read as the user asked; a directory is said to be one.
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return unexpected(FileError{errno, std::strerror(errno)});
    struct stat st {};
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > max_bytes)) {
      int err = errno;
      close(fd);
      if (S_ISDIR(st.st_mode)) return unexpected(FileError{0, "not a regular file: it is a directory"});
      if (S_ISREG(st.st_mode)) return unexpected(too_large("the file"));
      return unexpected(FileError{err, std::strerror(err)});
    }
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    int err = errno;
    if (n <= 0 || text.size() + static_cast<std::size_t>(n) > max_bytes) {
      if (fd != STDIN_FILENO) close(fd);
      if (n < 0) return unexpected(FileError{err, std::strerror(err)});
      if (n == 0) return text;
      return unexpected(too_large(path == "-" ? "standard input" : "the file"));
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace kplug
