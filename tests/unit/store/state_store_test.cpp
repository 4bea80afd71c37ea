#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "store/schema.h"
#include "store/state_store.h"
#include "support/files.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::OnRemove;
using bs::store::test::allowlist;
using bs::store::test::ip;
using bs::store::test::open_store;
using bs::store::test::raw_connection;
using bs::test::TempDir;

namespace {

ManagedMachine machine(const std::string& name, const std::string& bottle) {
  return ManagedMachine{name, bottle, Origin::Created, OnRemove::Delete, "image=alpine:3.20 cpus=1 memory=512", 1000};
}

}  // namespace

TEST_CASE("open creates the state dir 0700 with its parents, and state.db 0600", "[store]") {
  TempDir tmp;
  const std::string dir = tmp / "a/b/state";
  {
    auto store = StateStore::open(dir);
    REQUIRE(store);
    CHECK(store->path() == dir + "/state.db");
  }
  CHECK(bs::test::permissions_of(tmp / "a") == 0700);
  CHECK(bs::test::permissions_of(tmp / "a/b") == 0700);
  CHECK(bs::test::permissions_of(dir) == 0700);
  CHECK(bs::test::permissions_of(dir + "/state.db") == 0600);

  auto raw = raw_connection(dir + "/state.db");
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
  CHECK(raw.integer("PRAGMA user_version") == schema_migrations().back().version);
}

TEST_CASE("open reports a state dir that cannot be created", "[store]") {
  TempDir tmp;
  {
    std::FILE* f = std::fopen((tmp / "file").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
  }
  auto store = StateStore::open(tmp / "file/state");
  REQUIRE_FALSE(store);
  CHECK_THAT(store.error().message, Catch::Contains(tmp / "file"));
}

TEST_CASE("leases survive a restart", "[store]") {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 100}));
    REQUIRE_FALSE(store.put_lease({"beta", ip("127.0.0.17"), 200}));
  }
  auto store = open_store(tmp.path());
  auto leases = store.leases();
  REQUIRE(leases);
  REQUIRE(leases->size() == 2);
  CHECK((*leases)[0].bottle == "alpha");
  CHECK((*leases)[0].address == ip("127.0.0.16"));
  CHECK((*leases)[0].acquired_ms == 100);
  CHECK((*leases)[1].bottle == "beta");
  CHECK((*leases)[1].address == ip("127.0.0.17"));
}

TEST_CASE("an address is leased to one bottle at most", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 1}));

  auto err = store.put_lease({"beta", ip("127.0.0.16"), 2});
  REQUIRE(err);
  CHECK(err->kind == StoreError::Kind::Conflict);
  CHECK_THAT(err->message, Catch::Contains("127.0.0.16") && Catch::Contains("alpha"));

  // The same bottle re-putting its own address, or moving to a free one, is fine.
  REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 3}));
  REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.18"), 4}));
  // alpha's old address is free again.
  REQUIRE_FALSE(store.put_lease({"beta", ip("127.0.0.16"), 5}));

  auto leases = store.leases();
  REQUIRE(leases);
  REQUIRE(leases->size() == 2);
  CHECK((*leases)[0].address == ip("127.0.0.18"));
  CHECK((*leases)[0].acquired_ms == 4);
  CHECK((*leases)[1].address == ip("127.0.0.16"));

  REQUIRE_FALSE(store.release_lease("alpha"));
  leases = store.leases();
  REQUIRE(leases);
  REQUIRE(leases->size() == 1);
  CHECK((*leases)[0].bottle == "beta");
}

TEST_CASE("managed machines: put, update, forget", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_machine(machine("bottle-a", "a")));
  ManagedMachine adopted{"bottle-b", "b", Origin::Adopted, OnRemove::Keep, "", 2000};
  REQUIRE_FALSE(store.put_machine(adopted));

  auto ms = store.machines();
  REQUIRE(ms);
  REQUIRE(ms->size() == 2);
  CHECK((*ms)[0].machine == "bottle-a");
  CHECK((*ms)[0].origin == Origin::Created);
  CHECK((*ms)[0].fingerprint == "image=alpine:3.20 cpus=1 memory=512");
  CHECK((*ms)[1].origin == Origin::Adopted);
  CHECK((*ms)[1].on_remove == OnRemove::Keep);
  CHECK((*ms)[1].since_ms == 2000);

  adopted.on_remove = OnRemove::Delete;
  REQUIRE_FALSE(store.put_machine(adopted));
  REQUIRE_FALSE(store.forget_machine("bottle-a"));
  ms = store.machines();
  REQUIRE(ms);
  REQUIRE(ms->size() == 1);
  CHECK((*ms)[0].machine == "bottle-b");
  CHECK((*ms)[0].on_remove == OnRemove::Delete);
}

TEST_CASE("verified VMs: put, read back, clear, and dropped with their machine", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_machine(machine("bottle-a", "a")));
  REQUIRE_FALSE(store.put_machine(machine("bottle-b", "b")));

  const std::uint64_t big_start = (std::uint64_t{1} << 63) + 5;  // survives the INTEGER column
  REQUIRE_FALSE(store.put_verified_vm({"bottle-a", 4242, big_start, allowlist({"127.0.0.16/32", "10.0.0.0/8"}), 7}));
  REQUIRE_FALSE(store.put_verified_vm({"bottle-b", 4343, 99, {}, 8}));

  auto vms = store.verified_vms();
  REQUIRE(vms);
  REQUIRE(vms->size() == 2);
  CHECK((*vms)[0].machine == "bottle-a");
  CHECK((*vms)[0].pid == 4242);
  CHECK((*vms)[0].start_time == big_start);
  CHECK((*vms)[0].allowlist == allowlist({"10.0.0.0/8", "127.0.0.16/32"}));
  CHECK((*vms)[0].verified_ms == 7);
  CHECK((*vms)[1].allowlist.empty());

  // A restart of the VM replaces the record.
  REQUIRE_FALSE(store.put_verified_vm({"bottle-a", 5000, 12, allowlist({"127.0.0.16/32"}), 9}));
  REQUIRE_FALSE(store.clear_verified_vm("bottle-b"));
  vms = store.verified_vms();
  REQUIRE(vms);
  REQUIRE(vms->size() == 1);
  CHECK((*vms)[0].pid == 5000);
  CHECK((*vms)[0].start_time == 12);

  // Re-putting the machine keeps its verified VM; forgetting it drops it.
  REQUIRE_FALSE(store.put_machine(machine("bottle-a", "a")));
  vms = store.verified_vms();
  REQUIRE(vms);
  CHECK(vms->size() == 1);
  REQUIRE_FALSE(store.forget_machine("bottle-a"));
  vms = store.verified_vms();
  REQUIRE(vms);
  CHECK(vms->empty());
}

TEST_CASE("a verified VM needs a managed machine", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  auto err = store.put_verified_vm({"stranger", 1, 2, allowlist({"127.0.0.16/32"}), 3});
  REQUIRE(err);
  CHECK_THAT(err->message, Catch::Contains("stranger") && Catch::Contains("does not manage"));
  auto vms = store.verified_vms();
  REQUIRE(vms);
  CHECK(vms->empty());
}

TEST_CASE("transaction commits all of its mutations or none", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_lease({"a", ip("127.0.0.16"), 1}));
  REQUIRE_FALSE(store.put_machine(machine("bottle-a", "a")));

  SECTION("an error from the body rolls everything back") {
    auto err = store.transaction([&]() -> std::optional<StoreError> {
      if (auto e = store.release_lease("a")) return e;
      if (auto e = store.forget_machine("bottle-a")) return e;
      return StoreError{StoreError::Kind::Other, "changed my mind"};
    });
    REQUIRE(err);
    CHECK(err->message == "changed my mind");
    CHECK(store.leases()->size() == 1);
    CHECK(store.machines()->size() == 1);
  }
  SECTION("an exception from the body rolls everything back") {
    CHECK_THROWS(store.transaction([&]() -> std::optional<StoreError> {
      (void)store.release_lease("a");
      throw std::runtime_error("boom");
    }));
    CHECK(store.leases()->size() == 1);
    // The connection is usable again afterwards.
    REQUIRE_FALSE(store.put_lease({"b", ip("127.0.0.17"), 2}));
  }
  SECTION("a body without error commits everything") {
    auto err = store.transaction([&]() -> std::optional<StoreError> {
      if (auto e = store.release_lease("a")) return e;
      if (auto e = store.forget_machine("bottle-a")) return e;
      return store.append_event({0, 5, "a", "bottle-a", "lease-released", "127.0.0.16"});
    });
    REQUIRE_FALSE(err);
    auto other = open_store(tmp.path());
    CHECK(other.leases()->empty());
    CHECK(other.machines()->empty());
    CHECK(other.events("", 0, 0, 0)->size() == 1);
  }
  SECTION("a failed mutation inside leaves nothing half-done") {
    auto err = store.transaction([&]() -> std::optional<StoreError> {
      auto conflict = store.put_lease({"b", ip("127.0.0.16"), 2});
      REQUIRE(conflict);  // the body carries on regardless
      return store.put_lease({"b", ip("127.0.0.17"), 3});
    });
    REQUIRE_FALSE(err);
    auto leases = store.leases();
    REQUIRE(leases);
    REQUIRE(leases->size() == 2);
    CHECK((*leases)[1].address == ip("127.0.0.17"));
  }
}
