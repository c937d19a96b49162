// Attribute reads that cannot be steered out of /sys by a devpath or a rule.
#include "sysfs/attributes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "base/names.hpp"
#include "uevent/parse.hpp"

namespace kplug {

std::optional<std::string> read_attribute(const std::string& devpath, const std::string& name,
                                          const std::string& sys_root) {
  namespace fs = std::filesystem;
  if (!is_safe_devpath(devpath) || name.empty() || !is_safe_devpath("/" + name)) return std::nullopt;
  std::error_code ec;
  fs::path root = fs::canonical(sys_root, ec);
  if (ec) return std::nullopt;
  // Device directories are reached through links; the attribute itself must resolve to
  // a regular file that is still below /sys.
  fs::path real = fs::canonical(fs::path(sys_root + devpath) / name, ec);
  if (ec) return std::nullopt;
  auto rel = real.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  if (!fs::is_regular_file(real, ec)) return std::nullopt;
  int fd = open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return std::nullopt;
  std::string value(buf, static_cast<std::size_t>(n));
  while (!value.empty() && (value.back() == '\n' || value.back() == '\0')) value.pop_back();
  return value;
}

}  // namespace kplug
