#include <catch2/catch.hpp>

#include "fixture_db.h"
#include "smolvm/record.h"

using bs::smolvm::AllowedCidrs;
using bs::smolvm::parse_record;

namespace {

std::string error_of(std::string_view bytes) {
  auto r = parse_record(bytes);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("parse_record reads the record machine create writes", "[smolvm]") {
  auto r = parse_record(bs::test::smolvm_record_bytes("sb1"));
  REQUIRE(r.has_value());
  CHECK(r->name == "sb1");
  CHECK(r->state == "created");
  CHECK_FALSE(r->pid.has_value());
  CHECK_FALSE(r->pid_start_time.has_value());
  CHECK(r->network);
  CHECK(r->allowed_cidrs.kind == AllowedCidrs::Kind::List);
  CHECK(r->allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
  CHECK(r->image == std::optional<std::string>("alpine:3.20"));
  CHECK_FALSE(r->source_smolmachine.has_value());
  CHECK(r->cpus == 1);
  CHECK(r->mem == 512);
}

TEST_CASE("parse_record reads all 52 keys and a running VM's pid", "[smolvm]") {
  auto j = bs::test::smolvm_record_all_keys("vm-1");
  REQUIRE(j.size() == 52);
  j["state"] = "running";
  j["pid"] = 4242;
  j["pid_start_time"] = 18446744073709551615ull;
  j["cpus"] = 255;
  j["mem"] = 4294967295u;
  auto r = parse_record(j.dump());
  REQUIRE(r.has_value());
  CHECK(r->state == "running");
  CHECK(r->pid == std::optional<std::int64_t>(4242));
  CHECK(r->pid_start_time == std::optional<std::uint64_t>(18446744073709551615ull));
  CHECK(r->cpus == 255);
  CHECK(r->mem == 4294967295u);
  CHECK(r->source_smolmachine == std::optional<std::string>("/abs/agent.smolmachine"));
}

TEST_CASE("parse_record applies serde's defaults to missing fields", "[smolvm]") {
  auto r = parse_record(R"({"name":"x"})");
  REQUIRE(r.has_value());
  CHECK(r->state == "created");
  CHECK(r->cpus == 1);
  CHECK(r->mem == 512);
  CHECK_FALSE(r->network);
  CHECK(r->allowed_cidrs.kind == AllowedCidrs::Kind::Null);
  CHECK_FALSE(r->image.has_value());
  CHECK_FALSE(r->pid.has_value());
}

TEST_CASE("parse_record classifies allowed_cidrs", "[smolvm]") {
  struct Case {
    const char* json;
    AllowedCidrs::Kind kind;
    std::vector<std::string> cidrs;
  };
  const Case cases[] = {
      {R"({"name":"x"})", AllowedCidrs::Kind::Null, {}},
      {R"({"name":"x","allowed_cidrs":null})", AllowedCidrs::Kind::Null, {}},
      {R"({"name":"x","allowed_cidrs":[]})", AllowedCidrs::Kind::List, {}},
      {R"({"name":"x","allowed_cidrs":["10.0.0.0/8","127.0.0.16/32"]})", AllowedCidrs::Kind::List,
       {"10.0.0.0/8", "127.0.0.16/32"}},
      {R"({"name":"x","allowed_cidrs":["b","a","b"]})", AllowedCidrs::Kind::List, {"b", "a", "b"}},
      {R"({"name":"x","allowed_cidrs":"127.0.0.16/32"})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"name":"x","allowed_cidrs":[1]})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"name":"x","allowed_cidrs":[null]})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"name":"x","allowed_cidrs":{}})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"name":"x","allowed_cidrs":false})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"name":"x","allowed_cidrs":[["a"]]})", AllowedCidrs::Kind::Invalid, {}},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto r = parse_record(c.json);
    REQUIRE(r.has_value());
    CHECK(r->allowed_cidrs.kind == c.kind);
    CHECK(r->allowed_cidrs.cidrs == c.cidrs);
  }
}

TEST_CASE("parse_record errors say what is wrong", "[smolvm]") {
  struct Case {
    std::string json;
    std::string message_part;
  };
  const Case cases[] = {
      {"", "not valid JSON: "},
      {"{", "not valid JSON: "},
      {"nope", "not valid JSON: "},
      {R"({"name":"x"} trailing)", "not valid JSON: "},
      {std::string("{\"name\":\"\xff\"}"), "not valid JSON: "},
      {"[]", "not a JSON object"},
      {"\"x\"", "not a JSON object"},
      {"42", "not a JSON object"},
      {"null", "not a JSON object"},
      {"{}", "field 'name' is missing"},
      {R"({"name":1})", "field 'name' is not a string"},
      {R"({"name":null})", "field 'name' is not a string"},
      {R"({"name":"x","pid":"12"})", "field 'pid' is not an integer or null"},
      {R"({"name":"x","pid":12.0})", "field 'pid' is not an integer or null"},
      {R"({"name":"x","pid":true})", "field 'pid' is not an integer or null"},
      {R"({"name":"x","pid":0})", "field 'pid' is not a process id"},
      {R"({"name":"x","pid":-1})", "field 'pid' is not a process id"},
      {R"({"name":"x","pid":2147483648})", "field 'pid' is not a process id"},
      {R"({"name":"x","pid_start_time":-1})", "field 'pid_start_time' is not a non-negative integer"},
      {R"({"name":"x","pid_start_time":1e3})", "field 'pid_start_time' is not a non-negative integer"},
      {R"({"name":"x","cpus":256})", "field 'cpus' is not an integer 0..255"},
      {R"({"name":"x","cpus":null})", "field 'cpus' is not an integer 0..255"},
      {R"({"name":"x","mem":4294967296})", "field 'mem' is not an integer"},
      {R"({"name":"x","mem":-5})", "field 'mem' is not an integer"},
      {R"({"name":"x","network":null})", "field 'network' is not true or false"},
      {R"({"name":"x","network":1})", "field 'network' is not true or false"},
      {R"({"name":"x","state":null})", "field 'state' is not a string"},
      {R"({"name":"x","image":5})", "field 'image' is not a string or null"},
      {R"({"name":"x","source_smolmachine":[]})", "field 'source_smolmachine' is not a string or null"},
      {R"({"name":"x","name":"y"})", "duplicate key 'name'"},
      {R"({"name":"x","allowed_cidrs":null,"allowed_cidrs":["0.0.0.0/0"]})", "duplicate key 'allowed_cidrs'"},
      {R"({"name":"x","allowed\u005fcidrs":null,"allowed_cidrs":[]})", "duplicate key 'allowed_cidrs'"},
      {R"({"name":"x","restart":{"policy":"never","policy":"always"}})", "duplicate key 'policy'"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    CHECK_THAT(error_of(c.json), Catch::Contains(c.message_part));
  }
}

TEST_CASE("parse_record keeps hostile bytes out of its messages", "[smolvm]") {
  auto msg = error_of("{\"name\":\"x\",\"" + std::string("k\\u0001") + "\":1,\"k\\u0001\":2}");
  CHECK_THAT(msg, Catch::Contains("duplicate key 'k\\x01'"));
  for (char c : msg) CHECK((static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f));
}
