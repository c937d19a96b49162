// open(O_NONBLOCK) then fstat: a FIFO or a device is refused before any read.
#include "base/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return unexpected(FileError{errno, std::strerror(errno)});
  struct stat st {};
  if (fstat(fd, &st) < 0) {
    int err = errno;
    close(fd);
    return unexpected(FileError{err, std::strerror(err)});
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return unexpected(FileError{0, fmt::format("not a regular file: it is {}", kind_of(st.st_mode))});
  }
  auto too_large = [&] {
    return FileError{0, fmt::format("larger than {} KiB; a file this size is a mistake", max_bytes / 1024)};
  };
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    close(fd);
    return unexpected(too_large());
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return unexpected(FileError{err, std::strerror(err)});
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {  // it grew while we read
      close(fd);
      return unexpected(too_large());
    }
  }
  close(fd);
  return text;
}

}  // namespace kplug
