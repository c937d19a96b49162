// Framing of control lines, with a cap on their length.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "control/line_reader.hpp"

using namespace kplug::control;

TEST_CASE("request lines are framed with a cap on their length", "[line_reader]") {
  LineReader r(16);
  std::vector<std::string> lines;
  CHECK(r.feed("{\"a\"}\n{\"b", lines));
  CHECK(lines == std::vector<std::string>{"{\"a\"}"});
  CHECK(r.pending() == 3);
  CHECK(r.feed("\"}\n\n", lines));
  CHECK(lines == std::vector<std::string>{"{\"a\"}", "{\"b\"}", ""});
  CHECK_FALSE(r.feed(std::string(17, 'x'), lines));  // one byte past the cap, no newline yet
  CHECK(r.overflowed());
  CHECK(r.pending() == 0);
  CHECK_FALSE(r.feed("\n", lines));  // nothing more is taken
  LineReader exact(4);
  std::vector<std::string> ok;
  CHECK(exact.feed("abcd\n", ok));
  CHECK(ok == std::vector<std::string>{"abcd"});
}
