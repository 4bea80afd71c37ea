#include <catch2/catch.hpp>

#include "fixture_db.h"
#include "smolvm/record.h"
#include "table_support.h"

using bs::smolvm::apply_patch;
using bs::smolvm::patch_is_applied;
using bs::smolvm::RecordPatch;
using bs::test::cidrs;
using bs::test::quarantine;

namespace {

std::string patched(std::string_view in, const RecordPatch& p) {
  auto r = apply_patch(in, p);
  INFO(in);
  REQUIRE(r.has_value());
  return *r;
}

// `in` with its single occurrence of `from` replaced by `to`: what a splice must produce.
std::string replaced_once(std::string in, const std::string& from, const std::string& to) {
  auto at = in.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(in.find(from, at + 1) == std::string::npos);
  return in.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("apply_patch replaces only the allowed_cidrs value", "[smolvm]") {
  auto j = bs::test::smolvm_record("sb1");
  j["allowed_cidrs"] = nullptr;
  std::string in = j.dump();
  std::string out = patched(in, cidrs({"127.0.0.16/32", "10.0.0.0/8"}));
  CHECK(out == replaced_once(in, "\"allowed_cidrs\":null", R"("allowed_cidrs":["127.0.0.16/32","10.0.0.0/8"])"));
  auto r = bs::smolvm::parse_record(out);
  REQUIRE(r.has_value());
  CHECK(r->allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32", "10.0.0.0/8"});
}

TEST_CASE("apply_patch preserves every other byte: unknown keys, order, numbers, whitespace", "[smolvm]") {
  const std::string in =
      "{ \"zz_future\" : {\"nested\":[1,2,{\"allowed_cidrs\":null}]},\n"
      "  \"name\":\"odd\", \"created_at\":1.7870e9, \"mem\" : 512 ,\"cpus\":1,\n"
      "  \"big\":123456789012345678901234567890, \"neg\":-0, \"esc\":\"\\u00e9\\\"allowed_cidrs\\\":null\",\n"
      "  \"allowed_cidrs\" :\t[ \"1.2.3.4/32\" ] , \"network\":true, \"tail\":[[],{}]\n}\n";
  std::string out = patched(in, cidrs({"127.0.0.17/32"}));
  CHECK(out == replaced_once(in, "[ \"1.2.3.4/32\" ]", "[\"127.0.0.17/32\"]"));

  std::string both = patched(in, quarantine());
  std::string expect = replaced_once(in, "[ \"1.2.3.4/32\" ]", "[]");
  expect = replaced_once(expect, "\"network\":true", "\"network\":false");
  CHECK(both == expect);
}

TEST_CASE("apply_patch inserts a missing allowed_cidrs right after overlay_gb", "[smolvm]") {
  auto j = bs::test::smolvm_record("sb1");
  j.erase("allowed_cidrs");
  std::string in = j.dump();
  std::string out = patched(in, cidrs({"127.0.0.16/32"}));
  CHECK(out == replaced_once(in, "\"overlay_gb\":null,", R"("overlay_gb":null,"allowed_cidrs":["127.0.0.16/32"],)"));
}

TEST_CASE("apply_patch inserts before the final brace when there is no overlay_gb", "[smolvm]") {
  CHECK(patched(R"({"name":"x","cpus":1})", cidrs({"a"})) == R"({"name":"x","cpus":1,"allowed_cidrs":["a"]})");
  CHECK(patched("{\"name\":\"x\" }\n", cidrs({})) == "{\"name\":\"x\",\"allowed_cidrs\":[] }\n");
  CHECK(patched("{}", cidrs({"a"})) == R"({"allowed_cidrs":["a"]})");
  CHECK(patched(" { } ", quarantine()) == R"( {"network":false,"allowed_cidrs":[] } )");
}

TEST_CASE("apply_patch inserts a missing network after published_sockets", "[smolvm]") {
  auto j = bs::test::smolvm_record("sb1");
  j.erase("network");
  std::string in = j.dump();
  RecordPatch p;
  p.network = false;
  CHECK(patched(in, p) == replaced_once(in, "\"published_sockets\":[],", R"("published_sockets":[],"network":false,)"));
}

TEST_CASE("quarantine patch sets network false and an empty allowlist", "[smolvm]") {
  std::string in = bs::test::smolvm_record_all_keys("sb1").dump();
  std::string out = patched(in, quarantine());
  std::string expect = replaced_once(in, R"("allowed_cidrs":["127.0.0.16/32"])", R"("allowed_cidrs":[])");
  expect = replaced_once(expect, "\"network\":true", "\"network\":false");
  CHECK(out == expect);
  auto r = bs::smolvm::parse_record(out);
  REQUIRE(r.has_value());
  CHECK_FALSE(r->network);
  CHECK(r->allowed_cidrs.kind == bs::smolvm::AllowedCidrs::Kind::List);
  CHECK(r->allowed_cidrs.cidrs.empty());
}

TEST_CASE("apply_patch finds a key spelled with escapes instead of adding a second one", "[smolvm]") {
  std::string in = R"({"name":"x","allowed\u005fcidrs":null,"n\u0065twork":true})";
  std::string out = patched(in, quarantine());
  CHECK(out == R"({"name":"x","allowed\u005fcidrs":[],"n\u0065twork":false})");
  CHECK(bs::smolvm::parse_record(out).has_value());  // no duplicate key was created
}

TEST_CASE("apply_patch leaves nested and quoted look-alikes alone", "[smolvm]") {
  std::string in =
      R"({"restart":{"allowed_cidrs":null},"name":"\"allowed_cidrs\":null,","x":["overlay_gb"]})";
  CHECK(patched(in, cidrs({"a"})) ==
        R"({"restart":{"allowed_cidrs":null},"name":"\"allowed_cidrs\":null,","x":["overlay_gb"],"allowed_cidrs":["a"]})");
}

TEST_CASE("apply_patch escapes the values it writes", "[smolvm]") {
  std::string out = patched(R"({"name":"x","allowed_cidrs":null})", cidrs({"a\"b\\c", "\xc3\xa9"}));
  CHECK(out == "{\"name\":\"x\",\"allowed_cidrs\":[\"a\\\"b\\\\c\",\"\xc3\xa9\"]}");
}

TEST_CASE("apply_patch with an empty patch returns the input unchanged", "[smolvm]") {
  std::string in = " {\"name\" : \"x\"} ";
  CHECK(patched(in, RecordPatch{}) == in);
}

TEST_CASE("apply_patch refuses what it cannot patch safely", "[smolvm]") {
  struct Case {
    std::string in;
    const char* message_part;
  };
  const Case cases[] = {
      {"[]", "not a JSON object"},
      {"\"{}\"", "not a JSON object"},
      {"", "not valid JSON"},
      {R"({"name":"x",})", "not valid JSON"},
      {R"({"name":"x"}{})", "not valid JSON"},
      {R"({"allowed_cidrs":null,"allowed_cidrs":null})", "duplicate key 'allowed_cidrs'"},
      {R"({"a":{"b":1,"b":2}})", "duplicate key 'b'"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = apply_patch(c.in, quarantine());
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains(c.message_part));
  }
  RecordPatch bad_utf8 = cidrs({"\xff"});
  auto r = apply_patch(R"({"name":"x"})", bad_utf8);
  REQUIRE_FALSE(r.has_value());
  CHECK_THAT(r.error(), Catch::Contains("cannot encode the patch"));
}

TEST_CASE("patch_is_applied compares exact JSON values", "[smolvm]") {
  CHECK(*patch_is_applied(R"({"allowed_cidrs":["a","b"]})", cidrs({"a", "b"})));
  CHECK(*patch_is_applied(R"({"allowed_cidrs": [ "a" , "b" ] })", cidrs({"a", "b"})));
  CHECK_FALSE(*patch_is_applied(R"({"allowed_cidrs":["b","a"]})", cidrs({"a", "b"})));
  CHECK_FALSE(*patch_is_applied(R"({"allowed_cidrs":null})", cidrs({})));
  CHECK_FALSE(*patch_is_applied(R"({"name":"x"})", cidrs({})));
  CHECK(*patch_is_applied(R"({"allowed_cidrs":[],"network":false})", quarantine()));
  CHECK_FALSE(*patch_is_applied(R"({"allowed_cidrs":[]})", quarantine()));  // absent network is written
  CHECK_FALSE(*patch_is_applied(R"({"allowed_cidrs":[],"network":true})", quarantine()));
  CHECK_FALSE(patch_is_applied("[1]", quarantine()).has_value());
}
