#include <catch2/catch.hpp>

#include "reconcile/lease_policy.h"

using namespace bs;

namespace {
std::uint32_t addr(const char* s) { return parse_ipv4(s)->value; }
}  // namespace

TEST_CASE("leases: lowest free address of the default pool is 127.0.0.16", "[reconcile][lease]") {
  LeaseWorld w{*parse_pool("127.0.0.16/28"), {}, {}};
  CHECK(choose_address(w)->str() == "127.0.0.16");
  w.leased = {addr("127.0.0.16"), addr("127.0.0.17")};
  CHECK(choose_address(w)->str() == "127.0.0.18");
}

TEST_CASE("leases: a listener no lease explains makes the address taken", "[reconcile][lease]") {
  LeaseWorld w{*parse_pool("127.0.0.16/28"), {}, {addr("127.0.0.16")}};
  CHECK(choose_address(w)->str() == "127.0.0.17");
}

TEST_CASE("leases: 127.0.0.0 and 127.0.0.1 are never leased", "[reconcile][lease]") {
  LeaseWorld w{*parse_pool("127.0.0.0/30"), {}, {}};
  CHECK(choose_address(w)->str() == "127.0.0.2");
}

TEST_CASE("leases: an exhausted pool is an error naming the pool", "[reconcile][lease]") {
  LeaseWorld w{*parse_pool("127.0.0.16/28"), {}, {}};
  for (int i = 16; i < 32; ++i) w.leased.insert(0x7f000000u + static_cast<std::uint32_t>(i));
  auto r = choose_address(w);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "loopback pool 127.0.0.16/28 exhausted");
}

TEST_CASE("leases: a fixed address must be free and leasable", "[reconcile][lease]") {
  LeaseWorld w{*parse_pool("127.0.0.16/28"), {addr("127.0.0.20")}, {}};
  CHECK(check_fixed_address(w, *parse_ipv4("127.0.0.21"), "")->str() == "127.0.0.21");
  auto taken = check_fixed_address(w, *parse_ipv4("127.0.0.20"), "bottle x");
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == "loopback 127.0.0.20 is already leased by bottle x");
  CHECK_FALSE(check_fixed_address(w, *parse_ipv4("127.0.1.1"), ""));
}
