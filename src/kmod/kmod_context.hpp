// The one RAII owner of a libkmod context. libkmod is not thread-safe: each thread that
// resolves or loads has its own KmodContext, created once, indexes loaded up front.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/names.hpp"
#include "base/result.hpp"

struct kmod_ctx;

namespace kplug {

struct KmodOptions {
  std::string modules_dir;                  // lib/modules/VERSION; "" = the running kernel's
  std::vector<std::string> modprobe_config; // modprobe.d files/dirs; empty = the system's
  // Off for work that needs no index (listing, inserting a file, removing): the
  // modules directory may then be missing.
  bool require_indexes = true;
  // Keep the indexes mapped (kmod_load_resources): fast lookups, for the resolver. A
  // loader thread's context looks up one module's dependencies per load and reads the
  // index file for it instead, so each thread does not map (and keep resident) its own
  // copy of the indexes.
  bool map_indexes = true;
  // libkmod's own messages at debug level: for `kplug doctor`, where a missing module
  // file is a finding it reports, not an error of the tool.
  bool quiet = false;
};

class KmodContext {
 public:
  static Result<std::unique_ptr<KmodContext>, std::string> open(const KmodOptions& options);
  ~KmodContext();
  KmodContext(const KmodContext&) = delete;
  KmodContext& operator=(const KmodContext&) = delete;

  kmod_ctx* get() const { return ctx_; }
  const std::string& modules_dir() const { return modules_dir_; }
  const KmodOptions& options() const { return options_; }

  // Have the module indexes or the modprobe.d configuration changed on disk since this
  // context read them (depmod, DKMS, a package, an admin's blacklist)? A few stat calls
  // (kmod_validate_resources, as udevd does).
  bool changed() const;
  // A new context with the same options, reading everything again; CTX stays as it is
  // when that fails (an index half-written by a running depmod), and the error says why.
  static Result<bool, std::string> reopen(std::unique_ptr<KmodContext>& ctx);

 private:
  KmodContext() = default;
  kmod_ctx* ctx_ = nullptr;
  std::string modules_dir_;
  KmodOptions options_;
  // libkmod notices a file added to a modprobe.d directory, not one edited in place
  // (`echo blacklist x >> /etc/modprobe.d/local.conf`): each file's identity and mtime.
  std::string config_stamp_;
};

// The directory of the running kernel's modules: /lib/modules/$(uname -r).
std::string default_modules_dir();


}  // namespace kplug
