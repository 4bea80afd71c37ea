// The address an AcquireLease takes, against a fake listener table: what counts as taken (other
// bottles' leases, machines outside the specs, foreign listeners) and what does not (the bottle's
// own lease and listener), fixed addresses, and a launcher's existing address.
#include <catch2/catch.hpp>

#include "supervisor/lease_choice.h"

using bs::Ipv4;
using bs::supervisor::choose_lease;
using bs::supervisor::LeaseRequest;
using bs::supervisor::ListenerTable;

namespace {

Ipv4 addr(const char* s) { return *bs::parse_ipv4(s); }

struct FakeListeners final : ListenerTable {
  std::set<std::uint32_t> listening;
  int reads = 0;
  std::set<std::uint32_t> listening_addresses() override {
    ++reads;
    return listening;
  }
};

LeaseRequest request_for(const std::string& bottle) {
  LeaseRequest r;
  r.bottle = bottle;
  r.pool = *bs::parse_pool("127.0.0.16/28");
  return r;
}

bs::store::Lease lease(const std::string& bottle, const char* address) { return {bottle, addr(address), 0}; }

}  // namespace

TEST_CASE("lease choice: the lowest address no other bottle leases, no outside machine holds, nothing else listens on",
          "[daemon-unit]") {
  FakeListeners host;
  host.listening = {addr("127.0.0.18").value};
  LeaseRequest r = request_for("a");
  r.stored = {lease("b", "127.0.0.16")};
  r.outside_held = {addr("127.0.0.17").value};
  auto chosen = choose_lease(r, host);
  REQUIRE(chosen);
  CHECK(chosen->str() == "127.0.0.19");
  CHECK(host.reads == 1);
}

TEST_CASE("lease choice: the bottle's own stored lease and its own listener do not count as taken", "[daemon-unit]") {
  FakeListeners host;
  host.listening = {addr("127.0.0.16").value};
  LeaseRequest r = request_for("a");
  r.stored = {lease("a", "127.0.0.16")};
  r.own = addr("127.0.0.16");
  auto chosen = choose_lease(r, host);
  REQUIRE(chosen);
  CHECK(chosen->str() == "127.0.0.16");

  r.own.reset();  // not the bottle's: a launch outside the supervisor listens there
  chosen = choose_lease(r, host);
  REQUIRE(chosen);
  CHECK(chosen->str() == "127.0.0.17");
}

TEST_CASE("lease choice: a fixed address is refused only when another bottle leases it, naming that bottle",
          "[daemon-unit]") {
  FakeListeners host;
  LeaseRequest r = request_for("a");
  r.fixed = addr("127.0.0.20");
  r.stored = {lease("b", "127.0.0.20")};
  auto refused = choose_lease(r, host);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == "loopback 127.0.0.20 is already leased by bottle b");

  r.stored.clear();
  r.outside_held = {addr("127.0.0.20").value};  // the spec insists on it: the conflict is reported apart
  auto granted = choose_lease(r, host);
  REQUIRE(granted);
  CHECK(granted->str() == "127.0.0.20");

  r.fixed = addr("127.0.0.100");
  auto outside = choose_lease(r, host);
  REQUIRE_FALSE(outside);
  CHECK(outside.error().find("not a leasable address of the pool 127.0.0.16/28") != std::string::npos);
}

TEST_CASE("lease choice: an existing machine's address is kept unless another bottle leases it", "[daemon-unit]") {
  FakeListeners host;
  LeaseRequest r = request_for("a");
  r.launcher = addr("127.0.0.25");
  auto kept = choose_lease(r, host);
  REQUIRE(kept);
  CHECK(kept->str() == "127.0.0.25");

  r.stored = {lease("b", "127.0.0.25")};
  auto lowest = choose_lease(r, host);
  REQUIRE(lowest);
  CHECK(lowest->str() == "127.0.0.16");
}

TEST_CASE("lease choice: a pool with every address taken is exhausted, naming the pool", "[daemon-unit]") {
  FakeListeners host;
  LeaseRequest r = request_for("a");
  r.pool = *bs::parse_pool("127.0.0.16/30");
  for (std::uint64_t i = 0; i < r.pool.size(); ++i) host.listening.insert(r.pool.at(i).value);
  auto chosen = choose_lease(r, host);
  REQUIRE_FALSE(chosen);
  CHECK(chosen.error() == "loopback pool 127.0.0.16/30 exhausted");
}
