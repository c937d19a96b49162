// Name checks shared by every folder (see names.hpp).
#include "base/names.hpp"

namespace kplug {

bool is_safe_devpath(std::string_view devpath) {
  if (devpath.size() < 2 || devpath.front() != '/' || devpath.back() == '/') return false;
  for (char c : devpath)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  std::size_t pos = 1;
  while (pos <= devpath.size()) {
    std::size_t end = devpath.find('/', pos);
    if (end == std::string_view::npos) end = devpath.size();
    std::string_view part = devpath.substr(pos, end - pos);
    if (part.empty() || part == "." || part == "..") return false;
    pos = end + 1;
  }
  return true;
}

bool is_same_or_below(std::string_view devpath, std::string_view ancestor) {
  if (!devpath.starts_with(ancestor)) return false;
  return devpath.size() == ancestor.size() || devpath[ancestor.size()] == '/';
}

bool related_devices(std::string_view a, std::string_view b) {
  return is_same_or_below(a, b) || is_same_or_below(b, a);
}

bool is_safe_module_name(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name.find("..") == std::string_view::npos &&
         name.size() < 256;
}

bool is_module_name(std::string_view name) {
  if (name.empty() || name.size() > 55) return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

bool is_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace kplug
