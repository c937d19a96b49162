// The ledger on disk: round trips, odd bytes, planted links, the state directory's checks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "daemon/ledger.hpp"
#include "daemon/ledger_store.hpp"

using namespace kplug;
using std::chrono::microseconds;

TEST_CASE("the ledger survives a round trip through its file", "[ledger][store]") {
  Ledger l;
  l.record_load("usb_hello", "/devices/usb1/1-1/1-1:1.0", "usb:v08E6p4433", microseconds(1500), true,
                std::chrono::milliseconds(3000));
  l.record_load("usbhid", "/devices/usb1/1-2/1-2:1.0", "usb:v0627p0001", microseconds(68000), false);
  std::string path = "/tmp/kplug-ledger-test-" + std::to_string(::getpid()) + ".json";
  REQUIRE(save_ledger(path, l).has_value());
  auto back = load_ledger(path);
  REQUIRE(back.has_value());
  CHECK(ledger_to_json(*back) == ledger_to_json(l));
  CHECK(back->entries().at("usb_hello").unload_grace == std::chrono::milliseconds(3000));
  CHECK_FALSE(back->entries().at("usbhid").unload_on_remove);

  std::ofstream(path) << "{\"version\":1,\"modules\":{\"x\":{\"devices\":42}}}";
  auto corrupt = load_ledger(path);
  REQUIRE_FALSE(corrupt.has_value());
  CHECK(corrupt.error().find("is corrupt") != std::string::npos);
  std::ofstream(path) << "garbage";
  CHECK_FALSE(load_ledger(path).has_value());
  std::remove(path.c_str());
  CHECK(load_ledger(path).has_value());  // no file yet: an empty ledger
  CHECK(load_ledger(path)->entries().empty());
  CHECK_FALSE(save_ledger("/nonexistent-dir/state.json", l).has_value());
}

TEST_CASE("a devpath with bytes that are not UTF-8 is saved without throwing", "[ledger][store]") {
  Ledger l;
  l.record_load("m", std::string("/devices/bad\xff\xfe"), "x", microseconds(1));
  std::string text;
  REQUIRE_NOTHROW(text = ledger_to_json(l));
  auto back = ledger_from_json(text);
  REQUIRE(back.has_value());
  CHECK(back->owns("m"));
}

TEST_CASE("the temporary state file is never written through a planted link", "[ledger][store]") {
  std::string dir = "/tmp/kplug-ledger-link-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string victim = dir + "/victim";
  std::ofstream(victim) << "precious";
  std::filesystem::create_symlink(victim, dir + "/state.json.tmp");
  Ledger l;
  l.record_load("m", "/devices/a", "x", microseconds(1));
  REQUIRE(save_ledger(dir + "/state.json", l).has_value());
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "precious");
  CHECK_FALSE(std::filesystem::is_symlink(dir + "/state.json"));
  CHECK(load_ledger(dir + "/state.json")->owns("m"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the state directory must be a real root-owned directory nobody else can write", "[ledger][store]") {
  std::string base = "/tmp/kplug-statedir-" + std::to_string(::getpid());
  std::filesystem::remove_all(base);
  CHECK(check_state_dir(base + "/new").has_value());  // created
  CHECK((std::filesystem::status(base + "/new").permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_all | std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
         std::filesystem::perms::others_read | std::filesystem::perms::others_exec));
  std::filesystem::create_directories(base + "/open");
  std::filesystem::permissions(base + "/open", std::filesystem::perms::all);
  auto open = check_state_dir(base + "/open");
  REQUIRE_FALSE(open.has_value());
  CHECK(open.error().find("writable by group or others") != std::string::npos);
  std::filesystem::create_directory_symlink(base + "/new", base + "/link");
  auto link = check_state_dir(base + "/link");
  REQUIRE_FALSE(link.has_value());
  CHECK(link.error().find("symbolic link") != std::string::npos);
  std::filesystem::create_directories(base + "/theirs");
  REQUIRE(::chown((base + "/theirs").c_str(), 65534, 65534) == 0);
  auto theirs = check_state_dir(base + "/theirs");
  REQUIRE_FALSE(theirs.has_value());
  CHECK(theirs.error().find("owned by uid 65534") != std::string::npos);
  std::ofstream(base + "/file") << "x";
  CHECK_FALSE(check_state_dir(base + "/file").has_value());
  std::filesystem::remove_all(base);
}
