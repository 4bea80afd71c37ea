// Bytes nlohmann reads as JSON but smolvm's serde_json refuses, so the supervisor must too (found
// by tests/fuzz: record/crash-nul-ends-json.json, record/crash-bom-before-json.json).
#include <catch2/catch.hpp>

#include <string>

#include "smolvm/boot_config.h"
#include "smolvm/record.h"
#include "smolvm/strict_json.h"

using namespace std::string_literals;

TEST_CASE("a NUL byte anywhere makes a record or boot config invalid JSON", "[smolvm]") {
  const std::string tail_after_nul = "{\"name\":\"m\",\"allowed_cidrs\":[]}\0{\"allowed_cidrs\":null}"s;
  auto strict = bs::smolvm::parse_strict_json(tail_after_nul);
  REQUIRE_FALSE(strict);
  CHECK(strict.error() == "not valid JSON: a NUL byte at offset 31");
  CHECK_FALSE(bs::smolvm::parse_record(tail_after_nul));
  CHECK_FALSE(bs::smolvm::apply_patch(tail_after_nul, {std::vector<std::string>{"127.0.0.16/32"}, std::nullopt}));
  CHECK_FALSE(bs::smolvm::parse_booted_policy("{\"resources\":{\"allowed_cidrs\":[]}}\0"s));
  CHECK_FALSE(bs::smolvm::parse_record("{\"name\":\"a\0b\"}"s));  // inside a string too (must be \u0000)
  CHECK(bs::smolvm::parse_record("{\"name\":\"a\\u0000b\"}"));
}

TEST_CASE("a record starting with a byte-order mark is invalid JSON", "[smolvm]") {
  const std::string bom = "\xEF\xBB\xBF{\"name\":\"m\",\"allowed_cidrs\":[]}";
  auto strict = bs::smolvm::parse_strict_json(bom);
  REQUIRE_FALSE(strict);
  CHECK(strict.error() == "not valid JSON: starts with a byte-order mark");
  CHECK_FALSE(bs::smolvm::parse_record(bom));
  CHECK(bs::smolvm::parse_record(bom.substr(3)));
}
