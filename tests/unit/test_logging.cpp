// Where kplugd's log goes, and the journal's identifiers.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

#include "base/logging.hpp"

using namespace kplug;

TEST_CASE("auto picks the journal only when JOURNAL_STREAM names stderr", "[logging]") {
  int fd = open("/dev/null", O_WRONLY);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  CHECK(resolve_log_target("auto", mine.c_str(), fd) == "journal");
  CHECK(resolve_log_target("auto", "1:2", fd) == "stderr");
  CHECK(resolve_log_target("auto", nullptr, fd) == "stderr");
  CHECK(resolve_log_target("auto", "garbage", fd) == "stderr");
  CHECK(resolve_log_target("stderr", mine.c_str(), fd) == "stderr");
  CHECK(resolve_log_target("journal", nullptr, fd) == "journal");
  close(fd);
}

TEST_CASE("every kind of decision has its own MESSAGE_ID", "[logging]") {
  std::set<std::string> ids;
  for (const char* action : {"load", "load_failed", "already_loaded", "builtin", "blacklisted", "would_load",
                             "no_module", "unload_scheduled", "unload_cancelled", "unload", "would_unload",
                             "unload_refused", "reject", "overrun", "missed", "slow_load", "rescan"}) {
    std::string id = message_id(action);
    CHECK(id.size() == 32);
    ids.insert(id);
  }
  CHECK(ids.size() == 17);
  CHECK(std::string(message_id("nonsense")).empty());
}

TEST_CASE("a line's level reads as the word --log-level takes", "[logging]") {
  for (const char* word : {"trace", "debug", "info", "warn", "error"})
    CHECK(level_word(spdlog::level::from_str(word)) == word);
  CHECK(level_word(spdlog::level::critical) == "error");
}
