// The nesting bound checked before toml++ parses a spec or config (toml++ recurses per level).
#include <catch2/catch.hpp>

#include <string>

#include "reconcile/config.h"
#include "reconcile/spec.h"
#include "reconcile/toml_nesting.h"
#include "test_values.h"

namespace {

std::string dotted_key(std::size_t segments) {
  std::string key = "a";
  for (std::size_t i = 1; i < segments; ++i) key += ".a";
  return key;
}

}  // namespace

TEST_CASE("nesting: ordinary documents pass, strings and comments do not count", "[reconcile]") {
  CHECK_FALSE(bs::find_excess_toml_nesting("image = \"alpine:3.20\"\n[egress]\nallow = [\"1.2.3.4/32\"]\n"));
  const std::string dots(500, '.');
  const std::string brackets(500, '[');
  CHECK_FALSE(bs::find_excess_toml_nesting("x = \"" + dots + brackets + "\"\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting("x = '" + dots + brackets + "'\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting("x = \"\"\"\n" + dots + "\n" + brackets + "\"\"\"\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting("x = '''" + dots + "\n" + brackets + "'''\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting("# " + dots + brackets + "\nx = 1\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting("x = \"\\\"" + dots + "\"\n"));  // an escaped quote
  // Many lines of floats: the dotted-key count restarts on each line and after each comma.
  std::string floats = "x = [";
  for (int i = 0; i < 500; ++i) floats += "1.5, ";
  CHECK_FALSE(bs::find_excess_toml_nesting(floats + "]\n"));
  CHECK_FALSE(bs::find_excess_toml_nesting(dotted_key(60) + " = 1\n"));
}

TEST_CASE("nesting: deep dotted keys, arrays and inline tables are refused with their place", "[reconcile]") {
  auto deep = bs::find_excess_toml_nesting("x = 1\n" + dotted_key(50'000) + " = 1\n");
  REQUIRE(deep);
  CHECK(deep->line == 2);
  CHECK(deep->column == 2 * 64 + 2);  // the 65th dot
  CHECK(deep->message.find("more than 64 levels") != std::string::npos);

  REQUIRE(bs::find_excess_toml_nesting("x = " + std::string(100'000, '[')));
  REQUIRE(bs::find_excess_toml_nesting("x = " + std::string(100'000, '{')));
  REQUIRE(bs::find_excess_toml_nesting("[" + dotted_key(1000) + "]\n"));
  // A closed string after the deep part does not hide it; an unclosed one before it ends at the newline.
  REQUIRE(bs::find_excess_toml_nesting("x = \"abc\n" + dotted_key(100) + " = 1\n"));
  REQUIRE(bs::find_excess_toml_nesting("x = \"\"\"a\"\"\"\"\"\n" + dotted_key(100) + " = 1\n"));
}

TEST_CASE("nesting: a 50,000-segment dotted key is a spec error, not a crash", "[reconcile]") {
  auto r = bs::parse_bottle_spec("/specs/deep.toml", "image = \"a\"\n" + dotted_key(50'000) + " = 1\n",
                                 bs::test::kPool);
  REQUIRE_FALSE(r.has_value());
  REQUIRE(r.error().size() == 1);
  CHECK(r.error()[0].str().rfind("/specs/deep.toml:2:130: nested more than 64 levels", 0) == 0);
}

TEST_CASE("nesting: a 50,000-segment dotted key is a config error, not a crash", "[reconcile]") {
  auto c = bs::parse_config("/etc/bs/config.toml", dotted_key(50'000) + " = 1\n");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().rfind("/etc/bs/config.toml:1:130: nested more than 64 levels", 0) == 0);
  auto arrays = bs::parse_config("/etc/bs/config.toml", "specs = " + std::string(50'000, '[') + "\n");
  REQUIRE_FALSE(arrays.has_value());
  CHECK(arrays.error().find("nested more than 64 levels") != std::string::npos);
}
