// The simulated loader on the Debian kernel's own tree: dependencies come and go with
// their module, a module another one holds stays, an unknown one fails.
#include <algorithm>

#include <catch2/catch.hpp>

#include "kernel_tree.hpp"
#include "kmod/simulated_loader.hpp"

using namespace kplug;

namespace {
const std::string keyboard = "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00";  // usbhid
const std::string k1 = "/devices/pci0000:00/0000:00:02.0/usb1/1-1/1-1:1.0";
const std::string k2 = "/devices/pci0000:00/0000:00:02.0/usb1/1-2/1-2:1.0";
}  // namespace

TEST_CASE("the simulated loader: dependencies come and go with their module, held ones stay", "[simulated_loader]") {
  SimulatedModules modules;
  SimulatedLoader loader(kmod_tree(test::context()), modules);
  LoadResult first = loader.load({"usbhid", true, k1, keyboard, ""});
  CHECK(first.status == LoadStatus::loaded);
  CHECK(std::find(first.pulled_in.begin(), first.pulled_in.end(), "hid") != first.pulled_in.end());
  CHECK(std::find(first.pulled_in.begin(), first.pulled_in.end(), "usbcore") != first.pulled_in.end());
  CHECK(modules.is_live("usbhid"));
  CHECK(loader.load({"usbhid", true, k2, keyboard, ""}).status == LoadStatus::already_loaded);
  // usbcore is held by usbhid: refused, as the kernel would.
  CHECK(loader.unload("usbcore", {}).status == UnloadStatus::in_use);
  UnloadResult gone = loader.unload("usbhid", first.pulled_in);
  CHECK(gone.status == UnloadStatus::unloaded);
  CHECK(gone.removed_dependencies.size() == first.pulled_in.size());
  CHECK(modules.live().empty());
  CHECK(loader.unload("usbhid", {}).status == UnloadStatus::not_loaded);
  CHECK(loader.load({"no_such_module", false, k1, "", ""}).status == LoadStatus::failed);
}

