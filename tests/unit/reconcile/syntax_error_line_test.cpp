// toml++ quotes the character it choked on verbatim; a newline there must not split the
// diagnostic (found by tests/fuzz: spec/ and config/ crash-syntax-error-newline.toml).
#include <catch2/catch.hpp>

#include <string>

#include "reconcile/config.h"
#include "reconcile/spec.h"
#include "test_values.h"

TEST_CASE("a TOML syntax error at a newline is reported on one line", "[reconcile]") {
  auto spec = bs::parse_bottle_spec("/b/x.toml", "image = n\negress = 1\n", bs::test::kPool);
  REQUIRE_FALSE(spec);
  REQUIRE(spec.error().size() == 1);
  const std::string& m = spec.error()[0].message;
  CHECK(m.find('\n') == std::string::npos);
  CHECK(m.find("\\n") != std::string::npos);  // still says what it saw
  CHECK(spec.error()[0].line == 1);

  auto config = bs::parse_config("/c/config.toml", "log_level = n\r\n");
  REQUIRE_FALSE(config);
  CHECK(config.error().rfind("/c/config.toml:1:", 0) == 0);
  CHECK(config.error().find('\n') == std::string::npos);
  CHECK(config.error().find('\r') == std::string::npos);
}

TEST_CASE("other control characters in a syntax error are escaped too", "[reconcile]") {
  auto spec = bs::parse_bottle_spec("/b/x.toml", std::string("image = n\x01\n", 11), bs::test::kPool);
  REQUIRE_FALSE(spec);
  for (const auto& d : spec.error()) {
    for (char c : d.message) CHECK(static_cast<unsigned char>(c) >= 0x20);
  }
}
