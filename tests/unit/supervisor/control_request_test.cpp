#include <catch2/catch.hpp>

#include <string>

#include "supervisor/control_request.h"

using bs::supervisor::parse_control_request;

TEST_CASE("control request: cmd, bottle filter and the whole body", "[supervisor]") {
  auto r = parse_control_request(R"({"cmd":"status","bottles":["a","b-2"],"extra":1})");
  REQUIRE(r);
  CHECK(r->cmd == "status");
  CHECK(r->bottles == std::vector<std::string>{"a", "b-2"});
  CHECK(r->body.at("extra") == 1);
  CHECK(r->body.at("cmd") == "status");
}

TEST_CASE("control request: absent or null bottles mean all, a trailing CR is dropped", "[supervisor]") {
  auto plain = parse_control_request(R"({"cmd":"reconcile"})");
  REQUIRE(plain);
  CHECK(plain->cmd == "reconcile");
  CHECK(plain->bottles.empty());

  auto null_list = parse_control_request(R"({"cmd":"status","bottles":null})");
  REQUIRE(null_list);
  CHECK(null_list->bottles.empty());

  auto crlf = parse_control_request("{\"cmd\":\"status\"}\r");
  REQUIRE(crlf);
  CHECK(crlf->cmd == "status");
}

TEST_CASE("control request: each malformed shape gets its own message", "[supervisor]") {
  auto error_of = [](std::string_view line) {
    auto r = parse_control_request(line);
    REQUIRE_FALSE(r);
    return r.error();
  };
  CHECK(error_of("") == "malformed request: not valid JSON");
  CHECK(error_of("{\"cmd\":") == "malformed request: not valid JSON");
  CHECK(error_of("{\"cmd\":\"status\"} trailing") == "malformed request: not valid JSON");
  CHECK(error_of("{\"cmd\":\"\xff\"}") == "malformed request: not valid JSON");
  CHECK(error_of(R"(["status"])") == R"(malformed request: expected an object like {"cmd":"status"})");
  CHECK(error_of("\"status\"") == R"(malformed request: expected an object like {"cmd":"status"})");
  CHECK(error_of("{}") == "malformed request: 'cmd' must be a string");
  CHECK(error_of(R"({"cmd":1})") == "malformed request: 'cmd' must be a string");
  CHECK(error_of(R"({"cmd":"status","bottles":"a"})") == "malformed request: 'bottles' must be a list of names");
  CHECK(error_of(R"({"cmd":"status","bottles":["a",2]})") ==
        "malformed request: 'bottles' must be a list of names");
}

TEST_CASE("control request: deep nesting is an answer, not a crash", "[supervisor]") {
  std::string deep = "{\"cmd\":\"status\",\"x\":" + std::string(20000, '[') + std::string(20000, ']') + "}";
  auto r = parse_control_request(deep);
  REQUIRE(r);
  CHECK(r->cmd == "status");
}
