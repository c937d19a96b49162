// The one safe writer (and reader) of files: what a local user plants beside a file kplugd
// writes — a FIFO, a link, a hard link — is never opened for writing, and the write never
// blocks; a directory another user could change is refused unless said to be shared.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/file.hpp"
#include "temp_tree.hpp"

using namespace kplug;
using test::TempTree;
namespace fs = std::filesystem;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("a file is replaced whole, and no temporary file is left", "[file]") {
  TempTree t;
  std::string path = t.write("d/metrics.prom", "old\n");
  fs::permissions(t.root / "d", fs::perms(0755));
  REQUIRE(write_file_replacing(path, "new\n"));
  CHECK(slurp(path) == "new\n");
  CHECK(!fs::exists(path + ".tmp"));
}

TEST_CASE("a FIFO planted as the temporary file neither blocks nor is written to", "[file]") {
  TempTree t;
  std::string dir = t.dir("d");
  fs::permissions(dir, fs::perms(0755));
  std::string path = dir + "/metrics.prom";
  REQUIRE(mkfifo((path + ".tmp").c_str(), 0666) == 0);
  // Without O_NONBLOCK and the unlink first, open() would wait here for a reader forever.
  REQUIRE(write_file_replacing(path, "counts\n"));
  CHECK(slurp(path) == "counts\n");
  CHECK(!fs::exists(path + ".tmp"));
}

TEST_CASE("a link or a hard link planted as the temporary file never writes through", "[file]") {
  TempTree t;
  std::string victim = t.write("victim", "precious\n");
  std::string dir = t.dir("d");
  fs::permissions(dir, fs::perms(0755));
  std::string path = dir + "/state.json";
  SECTION("a symbolic link") { fs::create_symlink(victim, path + ".tmp"); }
  SECTION("a hard link") { fs::create_hard_link(victim, path + ".tmp"); }
  REQUIRE(write_file_replacing(path, "{}\n", {.shared_dir = false, .sync = true}));
  CHECK(slurp(victim) == "precious\n");
  CHECK(slurp(path) == "{}\n");
}

TEST_CASE("a link as the file itself is replaced, not followed", "[file]") {
  TempTree t;
  std::string victim = t.write("victim", "precious\n");
  std::string dir = t.dir("d");
  fs::permissions(dir, fs::perms(0755));
  fs::create_symlink(victim, dir + "/metrics.prom");
  REQUIRE(write_file_replacing(dir + "/metrics.prom", "counts\n"));
  CHECK(slurp(victim) == "precious\n");
  CHECK(!fs::is_symlink(dir + "/metrics.prom"));
}

TEST_CASE("a directory others can change is refused unless said to be shared", "[file]") {
  TempTree t;
  std::string dir = t.dir("shared");
  fs::permissions(dir, fs::perms(0777));
  auto refused = write_file_replacing(dir + "/metrics.prom", "x\n");
  REQUIRE(!refused);
  CHECK(refused.error().message.find("writable by group or others") != std::string::npos);
  CHECK(!fs::exists(dir + "/metrics.prom"));
  CHECK(write_file_replacing(dir + "/metrics.prom", "x\n", {.shared_dir = true}));

  std::string owned = t.dir("owned");
  fs::permissions(owned, fs::perms(0755));
  REQUIRE(chown(owned.c_str(), 65534, 65534) == 0);  // nobody's (the tests run as root)
  auto foreign = write_file_replacing(owned + "/metrics.prom", "x\n");
  REQUIRE(!foreign);
  CHECK(foreign.error().message.find("belongs to uid 65534") != std::string::npos);
}

TEST_CASE("a directory that is a link is refused, naming the cause", "[file]") {
  TempTree t;
  std::string real = t.dir("real");
  fs::permissions(real, fs::perms(0755));
  fs::create_directory_symlink(real, t.root / "link");
  auto refused = write_file_replacing((t.root / "link" / "metrics.prom").string(), "x\n");
  REQUIRE(!refused);
  CHECK(refused.error().message.find("cannot open the directory") != std::string::npos);
  CHECK(!fs::exists(real + "/metrics.prom"));
}

TEST_CASE("reading a FIFO is refused at once, not waited on", "[file]") {
  TempTree t;
  std::string fifo = (t.root / "fifo").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto refused = read_regular_file(fifo);
  REQUIRE(!refused);
  CHECK(refused.error().message == "not a regular file: it is a FIFO");
}

TEST_CASE("an input is a regular file, or standard input for '-', bounded either way", "[file]") {
  TempTree t;
  auto dir = read_input(t.root.string(), 1024);
  REQUIRE(!dir);
  CHECK(dir.error().message == "not a regular file: it is a directory");
  std::ofstream(t.root / "big") << std::string(2048, 'x');
  auto big = read_input((t.root / "big").string(), 1024);
  REQUIRE(!big);
  CHECK(big.error().too_large);

  // Standard input: a pipe holding the text, put in place of fd 0 for the call.
  auto from_stdin = [](const std::string& text, std::size_t max) {
    int p[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(write(p[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(p[1]);
    int saved = dup(STDIN_FILENO);
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    auto r = read_input("-", max);
    dup2(saved, STDIN_FILENO);
    close(saved);
    return r;
  };
  auto small = from_stdin("ACTION=add\n", 1024);
  REQUIRE(small);
  CHECK(*small == "ACTION=add\n");
  auto large = from_stdin(std::string(4096, 'y'), 1024);
  REQUIRE(!large);
  CHECK(large.error().too_large);
  CHECK(large.error().message == "standard input is larger than 1 KiB");
}
