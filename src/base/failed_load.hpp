// A module load that failed, as kplugd remembers it: kept by its failure history, sent in
// the status reply, read by `kplug doctor`'s diagnosis. One struct for all three.
#pragma once

#include <cstdint>
#include <string>

namespace kplug {

struct FailedLoad {
  std::string module, devpath;  // the device of the last failure
  int error = 0;                // errno of the last failure
  std::string message;          // "No such device"
  std::uint64_t count = 0;      // failures remembered
  double last_unix = 0;         // when the last one happened (seconds since the epoch)
};

}  // namespace kplug
