// Boot priority from device facts (see the header).
#include "rules/boot_priority.hpp"

#include <array>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace kplug {

namespace {

struct ClassRule {
  int base, sub;  // sub -1: any
  Priority priority;
  const char* what;
};

// PCI base class and subclass (pci.ids).
constexpr std::array pci_classes{
    ClassRule{0x01, -1, Priority::critical, "mass storage controller"},
    ClassRule{0x06, -1, Priority::critical, "bridge"},
    ClassRule{0x08, 0x05, Priority::critical, "SD host controller"},
    ClassRule{0x0c, 0x03, Priority::critical, "USB host controller"},
    ClassRule{0x0c, 0x04, Priority::critical, "Fibre Channel controller"},
    ClassRule{0x03, -1, Priority::console, "display controller"},
    ClassRule{0x09, -1, Priority::console, "input device controller"},
    ClassRule{0x02, -1, Priority::network, "network controller"},
    ClassRule{0x0d, -1, Priority::network, "wireless controller"},
};

// USB interface classes (usb.org).
constexpr std::array usb_classes{
    ClassRule{0x08, -1, Priority::critical, "mass storage interface"},
    ClassRule{0x09, -1, Priority::critical, "hub"},
    ClassRule{0x03, -1, Priority::console, "HID interface"},
    ClassRule{0x02, -1, Priority::network, "communications interface"},
    ClassRule{0x0a, -1, Priority::network, "CDC data interface"},
};

// virtio device IDs (the virtio specification).
constexpr std::array virtio_types{
    ClassRule{2, -1, Priority::critical, "block device"},
    ClassRule{8, -1, Priority::critical, "SCSI host"},
    ClassRule{3, -1, Priority::console, "console"},
    ClassRule{16, -1, Priority::console, "GPU"},
    ClassRule{18, -1, Priority::console, "input device"},
    ClassRule{1, -1, Priority::network, "network device"},
};

struct SubsystemRule {
  std::string_view subsystem;
  Priority priority;
};

constexpr std::array subsystems{
    SubsystemRule{"block", Priority::critical},   SubsystemRule{"scsi", Priority::critical},
    SubsystemRule{"scsi_host", Priority::critical}, SubsystemRule{"nvme", Priority::critical},
    SubsystemRule{"mmc", Priority::critical},     SubsystemRule{"mmc_host", Priority::critical},
    SubsystemRule{"ata_port", Priority::critical}, SubsystemRule{"ata_device", Priority::critical},
    SubsystemRule{"input", Priority::console},    SubsystemRule{"hid", Priority::console},
    SubsystemRule{"serio", Priority::console},    SubsystemRule{"tty", Priority::console},
    SubsystemRule{"graphics", Priority::console}, SubsystemRule{"drm", Priority::console},
    SubsystemRule{"net", Priority::network},
};

// The hex number of DIGITS digits right after the first KEY at or after FROM in TEXT.
std::optional<int> hex_after(std::string_view text, std::string_view key, std::size_t from, std::size_t digits) {
  std::size_t at = text.find(key, from);
  if (at == std::string_view::npos || at + key.size() + digits > text.size()) return std::nullopt;
  int value = 0;
  for (char c : text.substr(at + key.size(), digits)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    value = value * 16 + d;
  }
  return value;
}

template <typename Rules>
std::optional<PriorityFact> by_class(const Rules& rules, int base, int sub, const char* kind, int width) {
  for (const ClassRule& r : rules)
    if (r.base == base && (r.sub < 0 || r.sub == sub))
      return PriorityFact{r.priority, r.sub < 0 ? fmt::format("{} 0x{:0{}x} ({})", kind, base, width, r.what)
                                                : fmt::format("{} 0x{:02x}{:02x} ({})", kind, base, sub, r.what)};
  return std::nullopt;
}

std::optional<PriorityFact> by_modalias(std::string_view alias) {
  if (alias.starts_with("pci:")) {
    auto base = hex_after(alias, "bc", 4, 2), sub = hex_after(alias, "sc", 4, 2);
    if (base && sub) return by_class(pci_classes, *base, *sub, "PCI class", 2);
  } else if (alias.starts_with("usb:")) {
    // Past the device part (…dp%02X): the interface's class.
    std::size_t dp = alias.find("dp");
    if (auto ic = dp == std::string_view::npos ? std::nullopt : hex_after(alias, "ic", dp, 2))
      return by_class(usb_classes, *ic, -1, "USB interface class", 2);
  } else if (alias.starts_with("virtio:")) {
    if (auto type = hex_after(alias, "d", 7, 8)) return by_class(virtio_types, *type, -1, "virtio device type", 2);
  } else if (alias.starts_with("hid:")) {
    return PriorityFact{Priority::console, "a HID device"};
  }
  return std::nullopt;
}

}  // namespace

PriorityFact device_priority(const Uevent& event) {
  if (auto fact = by_modalias(event.modalias())) return *fact;
  for (const SubsystemRule& r : subsystems)
    if (r.subsystem == event.subsystem) return {r.priority, fmt::format("subsystem {}", event.subsystem)};
  return {Priority::normal, "no device fact makes it urgent"};
}

}  // namespace kplug
