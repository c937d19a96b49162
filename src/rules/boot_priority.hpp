// Which devices the boot waits for, from the device's own facts (its subsystem, its PCI
// or USB class, its virtio device type): not from module names, so a new driver for a
// storage controller is critical without anyone listing it. Pure.
//
//   critical  storage and the way to it: PCI mass storage, SD hosts, USB host controllers
//             and PCI bridges; USB mass storage interfaces and hubs; virtio block and SCSI;
//             the block, scsi, nvme, mmc and ata subsystems
//   console   display, input: PCI display and input classes, USB HID, virtio console, GPU
//             and input; the input, hid, serio, tty, graphics and drm subsystems
//   network   PCI network classes, USB communication classes, virtio net; the net subsystem
//   normal    everything else (sound, watchdogs, sensors, ...)
//
// A rule's `priority:` overrides it; the config's `boot_priority: false` makes every load
// normal (loads in the order the devices were found).
#pragma once

#include <string>

#include "base/priority.hpp"
#include "uevent/uevent.hpp"

namespace kplug {

struct PriorityFact {
  Priority priority = Priority::normal;
  std::string why;  // "PCI class 0x0c03 (USB host controller)"
};

PriorityFact device_priority(const Uevent& event);

}  // namespace kplug
