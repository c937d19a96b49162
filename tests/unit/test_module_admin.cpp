// The module commands' pure helpers, and module metadata read from the Debian tree.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "kmod/module_admin.hpp"

using namespace kplug;

namespace {

std::unique_ptr<KmodContext> debian_tree() {
  const char* dir = std::getenv("KPLUG_TEST_MODULES_DIR");
  REQUIRE(dir != nullptr);  // not a skip: without the tree these tests prove nothing
  auto ctx = KmodContext::open({dir, {"/nonexistent"}});
  REQUIRE(ctx.has_value());
  return std::move(*ctx);
}

ModuleInfo hello_info() {
  ModuleInfo info;
  info.name = "hello";
  info.fields = {{"parm", "name:who to greet"}, {"parmtype", "name:charp"}, {"parm", "count:how many"}};
  return info;
}

}  // namespace

TEST_CASE("parameters are passed in the kernel's syntax, quoted when they hold spaces", "[module_admin]") {
  CHECK(format_module_options({}) == "");
  CHECK(format_module_options({"name=Ada Lovelace", "count=2"}) == "name=\"Ada Lovelace\" count=2");
  CHECK(format_module_options({"debug"}) == "debug");
}

TEST_CASE("parameters a module does not declare are found, quoted values kept whole", "[module_admin]") {
  CHECK(unknown_parameters(hello_info(), "name=\"Ada Lovelace\" count=2").empty());
  CHECK(unknown_parameters(hello_info(), "name=\"a bogus=1\" bogus=2 countx=3") ==
        std::vector<std::string>{"bogus", "countx"});
  CHECK(unknown_parameters(hello_info(), "").empty());
}

TEST_CASE("aliases match MODALIAS strings with shell wildcards", "[module_admin]") {
  CHECK(alias_matches("usb:v08E6p4433d*dc*dsc*dp*ic*isc*ip*in*", "usb:v08E6p4433d0000dc00dsc00dp00ic0Bisc00ip00in00"));
  CHECK_FALSE(alias_matches("usb:v08E6p4433d*", "usb:v08E6p4434d0000"));
  CHECK(alias_matches("platform:kplug_gadget", "platform:kplug_gadget"));
  CHECK_FALSE(alias_matches("platform:kplug_gadget", "platform:kplug_gadgets"));
}

TEST_CASE("a file is told from a module name", "[module_admin]") {
  CHECK(looks_like_module_file("hello.ko"));
  CHECK(looks_like_module_file("./hello"));
  CHECK(looks_like_module_file("kmods/insmod/hello.ko.xz"));
  CHECK_FALSE(looks_like_module_file("usbhid"));
  CHECK_FALSE(looks_like_module_file("kplug-demo-info"));
  CHECK_FALSE(looks_like_module_file(".ko"));
}

TEST_CASE("a kernel without module support is named as such", "[module_admin]") {
  CHECK(module_support_problem("/nonexistent/modules").find("no loadable module support") != std::string::npos);
  CHECK(module_support_problem("/proc/self/status").empty());
}

TEST_CASE("module metadata by name, by alias and by file", "[module_admin]") {
  auto ctx = debian_tree();
  auto by_name = read_module_info(*ctx, "usbhid");
  REQUIRE(by_name.has_value());
  REQUIRE(by_name->size() == 1);
  const ModuleInfo& usbhid = by_name->front();
  CHECK(usbhid.name == "usbhid");
  CHECK(usbhid.filename.find("/kernel/drivers/hid/usbhid/usbhid.ko") != std::string::npos);
  CHECK(usbhid.values("license") == std::vector<std::string>{"GPL"});
  CHECK(usbhid.values("depends") == std::vector<std::string>{"hid,usbcore"});
  bool keyboard = false;
  for (const auto& alias : usbhid.values("alias"))
    keyboard = keyboard || alias_matches(alias, "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00");
  CHECK(keyboard);

  auto by_alias = read_module_info(*ctx, "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00");
  REQUIRE(by_alias.has_value());
  REQUIRE(by_alias->size() == 1);
  CHECK(by_alias->front().name == "usbhid");

  auto by_file = read_module_info(*ctx, usbhid.filename);
  REQUIRE(by_file.has_value());
  CHECK(by_file->front().name == "usbhid");
  CHECK(by_file->front().fields == usbhid.fields);

  auto builtin = read_module_info(*ctx, "8250_dw");
  REQUIRE(builtin.has_value());
  CHECK(builtin->front().filename == "(builtin)");
}

TEST_CASE("unknown modules and non-module files are errors that say so", "[module_admin]") {
  auto ctx = debian_tree();
  auto unknown = read_module_info(*ctx, "no_such_module_anywhere");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().find("no module named or aliased 'no_such_module_anywhere'") != std::string::npos);
  auto missing = read_module_info(*ctx, "/nonexistent/hello.ko");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().find("no such module file") != std::string::npos);
  auto not_module = read_module_info(*ctx, std::string(KPLUG_SOURCE_DIR) + "/config.example.yaml");
  REQUIRE_FALSE(not_module.has_value());
  CHECK(not_module.error().find("is not a kernel module") != std::string::npos);
}
