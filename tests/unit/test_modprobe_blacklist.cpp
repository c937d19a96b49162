// Which modprobe.d file and line blacklists a module (`kplug doctor` names it).
#include <catch2/catch.hpp>

#include "kmod/modprobe_blacklist.hpp"
#include "temp_tree.hpp"

using namespace kplug;

TEST_CASE("the first blacklist line for a module, dashes and underscores alike", "[modprobe_blacklist]") {
  std::string text = "# comment\noptions snd index=1\nblacklist pcspkr\n  blacklist   usb-hello  \n";
  CHECK(blacklist_line(text, "usb_hello") == 4);
  CHECK(blacklist_line(text, "pcspkr") == 3);
  CHECK(blacklist_line(text, "snd") == 0);
  CHECK(blacklist_line("blacklist\n", "x") == 0);
}

TEST_CASE("files as libkmod reads them: *.conf, an earlier directory hides a name, by name", "[modprobe_blacklist]") {
  test::TempTree t;
  std::string etc = t.dir("etc"), lib = t.dir("lib");
  t.write("lib/50-a.conf", "blacklist hidden\n");
  t.write("etc/50-a.conf", "# the admin's copy, without the line\n");
  t.write("lib/10-b.conf", "\nblacklist usb_hello\n");
  t.write("etc/20-c.conf", "blacklist usb_hello\n");
  t.write("etc/notes.txt", "blacklist txt_only\n");
  CHECK(find_blacklist("usb_hello", {etc, lib}) == lib + "/10-b.conf:2");
  CHECK(find_blacklist("hidden", {etc, lib}).empty());
  CHECK(find_blacklist("txt_only", {etc, lib}).empty());
  CHECK(find_blacklist("usb_hello", {t.root / "missing"}).empty());
}
