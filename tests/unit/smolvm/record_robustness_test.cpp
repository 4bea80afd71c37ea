// parse_record and apply_patch read bytes any process may have written: they must answer every
// input with a value or an error. A deterministic mutation run stands in for the fuzzer.
#include <catch2/catch.hpp>
#include <random>

#include "fixture_db.h"
#include "smolvm/boot_config.h"
#include "smolvm/record.h"
#include "table_support.h"

using bs::smolvm::RecordPatch;
using bs::test::quarantine;

namespace {

// When apply_patch succeeds, the result must be a record with the patch applied.
void check_consistent(const std::string& input) {
  auto out = bs::smolvm::apply_patch(input, quarantine());
  if (!out) return;
  auto applied = bs::smolvm::patch_is_applied(*out, quarantine());
  REQUIRE(applied.has_value());
  REQUIRE(*applied);
}

}  // namespace

TEST_CASE("record parsing and patching survive mutated input", "[smolvm]") {
  const std::string seed = bs::test::smolvm_record_all_keys("sb1").dump();
  const std::string alphabet = "{}[]\",:\\ 0123456789.eE+-tfnu\x00\xff\xc3\x80";
  std::mt19937 rng(12345);
  int parsed = 0;
  for (int i = 0; i < 400; ++i) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      std::size_t at = rng() % s.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: s[at] = c; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: s.erase(at, 1 + rng() % 8); break;
      }
    }
    if (bs::smolvm::parse_record(s)) ++parsed;
    check_consistent(s);
    (void)bs::smolvm::parse_booted_policy(s);
  }
  // Sanity: the mutations are not all fatal, so the success paths were exercised too.
  CHECK(parsed > 10);
}

TEST_CASE("input nested deeper than serde_json's 128 levels is an error, not a stack overflow", "[smolvm]") {
  const std::size_t depth = 200000;
  std::string arrays(depth, '[');
  arrays += std::string(depth, ']');
  std::string deep = R"({"name":"x","deep":)" + arrays + "}";
  auto r = bs::smolvm::parse_record(deep);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains("nested deeper than 128 levels"));
  CHECK_FALSE(bs::smolvm::apply_patch(deep, quarantine()).has_value());
  CHECK_FALSE(bs::smolvm::parse_booted_policy(deep).has_value());

  std::string unclosed = R"({"name":"x","deep":)" + std::string(depth, '{');
  CHECK_FALSE(bs::smolvm::parse_record(unclosed).has_value());
  CHECK_FALSE(bs::smolvm::apply_patch(unclosed, quarantine()).has_value());

  // At the limit (the record object plus 127 arrays) it still works, brackets in strings ignored.
  std::string ok = R"({"name":"[[[[{{{{","deep":)" + std::string(127, '[') + std::string(127, ']') + "}";
  REQUIRE(bs::smolvm::parse_record(ok).has_value());
  auto out = bs::smolvm::apply_patch(ok, quarantine());
  REQUIRE(out.has_value());
  CHECK(*out == ok.substr(0, ok.size() - 1) + R"(,"network":false,"allowed_cidrs":[]})");
  CHECK_FALSE(bs::smolvm::parse_record(R"({"name":"x","deep":)" + std::string(128, '[') + std::string(128, ']') + "}").has_value());
}
