// The store's records are typed, its columns are text: the text each typed field is written as
// (state DBs of earlier builds and the integration tests read it), the text read back into types,
// and a row whose text does not convert (edited by hand) failing the read with a BadValue error
// that names the table, the row and the value.
#include <catch2/catch.hpp>

#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::OnRemove;
using bs::store::test::allowlist;
using bs::store::test::ip;
using bs::store::test::open_store;
using bs::store::test::raw_connection;
using bs::test::TempDir;

namespace {

// Rows as a hand edit (or an earlier build) leaves them, written past the store's API.
void insert_lease(const std::string& dir, const std::string& bottle, const std::string& address) {
  raw_connection(dir + "/state.db")
      .exec("INSERT INTO leases (bottle, address, acquired_ms) VALUES ('" + bottle + "', '" + address + "', 1)");
}

// The schema CHECKs origin and on_remove; a hand edit can switch that off, as this does.
void insert_machine(const std::string& dir, const std::string& machine, const std::string& origin,
                    const std::string& on_remove) {
  auto raw = raw_connection(dir + "/state.db");
  raw.exec("PRAGMA ignore_check_constraints = ON");
  raw.exec("INSERT INTO machines (machine, bottle, origin, on_remove, fingerprint, since_ms) VALUES ('" + machine +
           "', 'b', '" + origin + "', '" + on_remove + "', 'image=alpine', 1)");
}

void insert_verified(const std::string& dir, const std::string& machine, const std::string& allowlist_text) {
  auto raw = raw_connection(dir + "/state.db");
  raw.column("INSERT INTO verified_vms (machine, pid, start_time, allowlist, verified_ms) VALUES (?1, 42, 7, ?2, 1)",
             {machine, allowlist_text});
}

}  // namespace

TEST_CASE("typed records are written as the text their columns always held", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 1}));
  REQUIRE_FALSE(store.put_machine({"bottle-alpha", "alpha", Origin::Created, OnRemove::Delete, "f", 1}));
  REQUIRE_FALSE(store.put_machine({"bottle-beta", "beta", Origin::Adopted, OnRemove::Keep, "", 2}));
  REQUIRE_FALSE(store.put_verified_vm({"bottle-alpha", 42, 7, allowlist({"127.0.0.16/32", "10.0.0.0/8"}), 3}));
  REQUIRE_FALSE(store.put_verified_vm({"bottle-beta", 43, 8, {}, 4}));

  auto raw = raw_connection(tmp / "state.db");
  CHECK(raw.text("SELECT address FROM leases WHERE bottle = 'alpha'") == "127.0.0.16");
  CHECK(raw.text("SELECT origin || ' ' || on_remove FROM machines WHERE machine = 'bottle-alpha'") ==
        "created delete");
  CHECK(raw.text("SELECT origin || ' ' || on_remove FROM machines WHERE machine = 'bottle-beta'") == "adopted keep");
  CHECK(raw.text("SELECT allowlist FROM verified_vms WHERE machine = 'bottle-alpha'") == "10.0.0.0/8\n127.0.0.16/32");
  CHECK(raw.integer("SELECT count(*) FROM verified_vms WHERE machine = 'bottle-beta' AND allowlist = ''") == 1);
}

TEST_CASE("column text as earlier builds wrote it reads back typed", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  insert_lease(tmp.path(), "alpha", "127.0.0.16");
  insert_machine(tmp.path(), "bottle-a", "created", "keep");
  insert_machine(tmp.path(), "bottle-b", "adopted", "delete");
  insert_verified(tmp.path(), "bottle-a", "127.0.0.16/32\n10.0.0.0/8");  // valid, not sorted
  insert_verified(tmp.path(), "bottle-b", "");

  auto leases = store.leases();
  REQUIRE(leases);
  REQUIRE(leases->size() == 1);
  CHECK(leases->front().address == ip("127.0.0.16"));

  auto machines = store.machines();
  REQUIRE(machines);
  REQUIRE(machines->size() == 2);
  CHECK((*machines)[0].origin == Origin::Created);
  CHECK((*machines)[0].on_remove == OnRemove::Keep);
  CHECK((*machines)[1].origin == Origin::Adopted);
  CHECK((*machines)[1].on_remove == OnRemove::Delete);

  auto vms = store.verified_vms();
  REQUIRE(vms);
  REQUIRE(vms->size() == 2);
  CHECK((*vms)[0].allowlist == allowlist({"10.0.0.0/8", "127.0.0.16/32"}));  // canonical once read
  CHECK(bs::to_strings((*vms)[0].allowlist) == std::vector<std::string>{"10.0.0.0/8", "127.0.0.16/32"});
  CHECK((*vms)[1].allowlist.empty());
}

TEST_CASE("a lease row whose address does not convert fails the read, naming it", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 1}));
  insert_lease(tmp.path(), "beta", "127.0.0.300");

  auto leases = store.leases();
  REQUIRE_FALSE(leases);
  CHECK(leases.error().kind == StoreError::Kind::BadValue);
  CHECK_THAT(leases.error().message, Catch::StartsWith(tmp / "state.db") && Catch::Contains("table leases") &&
                                         Catch::Contains("bottle \"beta\"") && Catch::Contains("column address") &&
                                         Catch::Contains("\"127.0.0.300\"") &&
                                         Catch::Contains("correct or delete it"));
  // A reader (the `leases` command) is told the same.
  auto reader = StateStore::open_read_only(tmp.path());
  REQUIRE(reader);
  auto read = reader->leases();
  REQUIRE_FALSE(read);
  CHECK(read.error().message == leases.error().message);
  // The other tables still read.
  CHECK(store.machines());
}

TEST_CASE("a machine row whose origin or on_remove does not convert fails the read, naming it", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  SECTION("origin") {
    insert_machine(tmp.path(), "bottle-x", "found", "delete");
    auto machines = store.machines();
    REQUIRE_FALSE(machines);
    CHECK(machines.error().kind == StoreError::Kind::BadValue);
    CHECK_THAT(machines.error().message, Catch::Contains("table machines") &&
                                             Catch::Contains("machine \"bottle-x\"") &&
                                             Catch::Contains("column origin") && Catch::Contains("\"found\""));
  }
  SECTION("on_remove") {
    insert_machine(tmp.path(), "bottle-y", "created", "destroy");
    auto machines = store.machines();
    REQUIRE_FALSE(machines);
    CHECK(machines.error().kind == StoreError::Kind::BadValue);
    CHECK_THAT(machines.error().message, Catch::Contains("table machines") &&
                                             Catch::Contains("machine \"bottle-y\"") &&
                                             Catch::Contains("column on_remove") && Catch::Contains("\"destroy\""));
  }
}

TEST_CASE("a verified VM row whose allowlist does not convert fails the read, naming it", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.put_machine({"bottle-a", "a", Origin::Created, OnRemove::Delete, "f", 1}));
  std::string text, shown;
  SECTION("an entry that is no CIDR") {
    text = "127.0.0.16/32\n10.0.0.0/33";
    shown = "\"10.0.0.0/33\"";
  }
  SECTION("an empty line") {
    text = "127.0.0.16/32\n\n10.0.0.0/8";
    shown = "\"\"";
  }
  insert_verified(tmp.path(), "bottle-a", text);
  auto vms = store.verified_vms();
  REQUIRE_FALSE(vms);
  CHECK(vms.error().kind == StoreError::Kind::BadValue);
  CHECK_THAT(vms.error().message, Catch::Contains("table verified_vms") && Catch::Contains("machine \"bottle-a\"") &&
                                      Catch::Contains("column allowlist") && Catch::Contains(shown));
}
