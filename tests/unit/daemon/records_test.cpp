// Records against a real state store in a temporary folder: every write goes to the store first
// and then to the mirror, and a write the store refuses leaves the mirror as it was. Refusals are
// made with a trigger from a second connection (instant and deterministic, unlike a full disk or
// a held write lock, which would cost the store's busy timeout).
#include <catch2/catch.hpp>

#include <optional>
#include <set>
#include <string>

#include "store/state_store.h"
#include "supervisor/records.h"
#include "support/fake_time.h"
#include "unit/store/store_fixture.h"

using bs::Ipv4;
using bs::parse_ipv4;
using bs::store::ManagedMachine;
using bs::store::StateStore;
using bs::store::VerifiedVm;
using bs::test::SqliteDb;
using bs::test::TempDir;
using bs::supervisor::Records;
using bs::test::FakeTime;
using namespace std::chrono_literals;

namespace {

struct RecordsFixture {
  TempDir tmp;
  FakeTime time;  // the event recorder's retry timer runs on it
  std::optional<Records> records;

  RecordsFixture() { reopen(); }
  ~RecordsFixture() { records.reset(); }  // before the clock goes

  void reopen() {
    records.reset();
    records.emplace(time, bs::store::test::open_store(tmp.path()));
  }
  // What the store holds, read through a connection of its own.
  StateStore reader() const { return bs::store::test::open_store(tmp.path()); }
  SqliteDb raw() const { return bs::store::test::raw_connection(tmp.path() + "/state.db"); }
  // Makes the store refuse every `what` (INSERT, DELETE...) on `table`.
  void refuse(const std::string& what, const std::string& table) {
    raw().exec("CREATE TRIGGER refuse_" + table + " BEFORE " + what + " ON " + table +
               " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  }
};

Ipv4 ip(const char* s) { return *parse_ipv4(s); }

ManagedMachine machine_of(const std::string& machine, const std::string& bottle) {
  return ManagedMachine{machine, bottle, bs::store::Origin::Created, bs::OnRemove::Delete,
                        "image alpine cpus 1 memory 512", 1000};
}

VerifiedVm verified_vm(const std::string& machine, std::int64_t pid) {
  return VerifiedVm{machine, pid, 4242, bs::store::test::allowlist({"127.0.0.16/32"}), 2000};
}

}  // namespace

TEST_CASE("records: load fills the mirrors from the store", "[daemon-unit]") {
  RecordsFixture f;
  {
    StateStore s = f.reader();
    REQUIRE_FALSE(s.put_lease({"alpha", ip("127.0.0.16"), 1}));
    REQUIRE_FALSE(s.put_machine(machine_of("bottle-alpha", "alpha")));
    REQUIRE_FALSE(s.put_verified_vm(verified_vm("bottle-alpha", 77)));
  }
  f.reopen();
  CHECK(f.records->leases().empty());  // nothing read before load()
  REQUIRE_FALSE(f.records->load());
  CHECK(f.records->lease_of("alpha") == ip("127.0.0.16"));
  REQUIRE(f.records->managed().count("bottle-alpha") == 1);
  CHECK(f.records->managed().of_bottle("alpha") == std::set<std::string>{"bottle-alpha"});
  REQUIRE(f.records->verified().count("bottle-alpha") == 1);
  CHECK(f.records->verified().at("bottle-alpha").pid == 77);
}

TEST_CASE("records: load fails on a row the store cannot read, naming it, and fills nothing", "[daemon-unit]") {
  RecordsFixture f;
  {
    StateStore s = f.reader();
    REQUIRE_FALSE(s.put_lease({"alpha", ip("127.0.0.16"), 1}));
    REQUIRE_FALSE(s.put_machine(machine_of("bottle-alpha", "alpha")));
  }
  f.raw().exec("UPDATE leases SET address = '127.0.0.016' WHERE bottle = 'alpha'");  // a hand edit
  f.reopen();
  auto err = f.records->load();
  REQUIRE(err);  // the daemon's start-up stops on it
  CHECK_THAT(*err, Catch::Contains("table leases") && Catch::Contains("\"alpha\"") &&
                       Catch::Contains("\"127.0.0.016\""));
  CHECK(f.records->leases().empty());
  CHECK(f.records->managed().size() == 0);
}

TEST_CASE("records: leases are written through, and a refused lease changes nothing", "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  REQUIRE_FALSE(r.put_lease("alpha", ip("127.0.0.16"), 5));
  CHECK(r.lease_of("alpha") == ip("127.0.0.16"));
  auto stored = f.reader().leases();
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().address == ip("127.0.0.16"));
  CHECK(stored->front().acquired_ms == 5);

  // The address is alpha's: the store refuses it for beta (a Conflict), and the mirror agrees.
  auto err = r.put_lease("beta", ip("127.0.0.16"), 6);
  REQUIRE(err);
  CHECK(err->find("alpha") != std::string::npos);
  CHECK_FALSE(r.lease_of("beta"));
  CHECK(r.leases().size() == 1);

  f.refuse("DELETE", "leases");
  CHECK(r.release_lease("alpha"));
  CHECK(r.lease_of("alpha") == ip("127.0.0.16"));

  f.raw().exec("DROP TRIGGER refuse_leases");
  REQUIRE_FALSE(r.release_lease("alpha"));
  CHECK_FALSE(r.lease_of("alpha"));
  CHECK(f.reader().leases()->empty());
}

TEST_CASE("records: forgetting a machine drops its verified VM too, or nothing at all", "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  REQUIRE_FALSE(r.put_machine(machine_of("bottle-alpha", "alpha")));
  REQUIRE_FALSE(r.put_verified(verified_vm("bottle-alpha", 77)));
  CHECK(r.managed().count("bottle-alpha") == 1);
  CHECK(r.verified().count("bottle-alpha") == 1);
  CHECK(f.reader().verified_vms()->size() == 1);

  // The machine's row refuses to go: the store rolls the whole forget back, the mirror keeps both.
  f.refuse("DELETE", "machines");
  CHECK(r.forget_machine("bottle-alpha"));
  CHECK(r.managed().count("bottle-alpha") == 1);
  CHECK(r.verified().count("bottle-alpha") == 1);
  CHECK(f.reader().machines()->size() == 1);
  CHECK(f.reader().verified_vms()->size() == 1);

  f.raw().exec("DROP TRIGGER refuse_machines");
  REQUIRE_FALSE(r.forget_machine("bottle-alpha"));
  CHECK(r.managed().count("bottle-alpha") == 0);
  CHECK(r.managed().of_bottle("alpha").empty());
  CHECK(r.verified().count("bottle-alpha") == 0);
  CHECK(f.reader().machines()->empty());
  CHECK(f.reader().verified_vms()->empty());
}

TEST_CASE("records: a refused machine or verified VM stays out of the mirror", "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  // Only a managed machine can have a verified VM: the store says no, and so does the mirror.
  CHECK(r.put_verified(verified_vm("bottle-stranger", 5)));
  CHECK(r.verified().empty());

  f.refuse("INSERT", "machines");
  const std::uint64_t version = r.managed().version();
  CHECK(r.put_machine(machine_of("bottle-alpha", "alpha")));
  CHECK(r.managed().size() == 0);
  CHECK(r.managed().version() == version);  // the data-dir watch has nothing to resync
}

TEST_CASE("records: clear_verified is all or nothing but the best-effort clear always drops the mirror",
          "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  REQUIRE_FALSE(r.put_machine(machine_of("bottle-alpha", "alpha")));
  REQUIRE_FALSE(r.put_verified(verified_vm("bottle-alpha", 77)));

  f.refuse("DELETE", "verified_vms");
  CHECK(r.clear_verified("bottle-alpha"));
  CHECK(r.verified().count("bottle-alpha") == 1);

  // The VM is known gone (killed, stopped, deleted): the mirror forgets it whatever the store says.
  r.clear_verified_best_effort("bottle-alpha");
  CHECK(r.verified().count("bottle-alpha") == 0);
  CHECK(f.reader().verified_vms()->size() == 1);  // left behind, naming a dead VM

  f.raw().exec("DROP TRIGGER refuse_verified_vms");
  REQUIRE_FALSE(r.put_verified(verified_vm("bottle-alpha", 78)));
  REQUIRE_FALSE(r.clear_verified("bottle-alpha"));
  CHECK(r.verified().empty());
  CHECK(f.reader().verified_vms()->empty());
}

TEST_CASE("records: saved specs and events reach the store", "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  REQUIRE_FALSE(r.save_spec({"alpha", "/specs/alpha.toml", "machine = \"bottle-alpha\"\n", 9}));
  auto saved = r.saved_specs();
  REQUIRE(saved);
  REQUIRE(saved->size() == 1);
  CHECK(saved->front().path == "/specs/alpha.toml");
  REQUIRE_FALSE(r.forget_spec("alpha"));
  CHECK(r.saved_specs()->empty());

  r.record_event({0, 10, "alpha", "bottle-alpha", "verified", "pid 77 booted with [127.0.0.16/32]"});
  CHECK(r.events_pending() == 0);
  auto events = f.reader().events("", 0, 0, 0);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK(events->front().kind == "verified");
  CHECK(r.path() == f.tmp.path() + "/state.db");
}

TEST_CASE("records: events the store refuses wait in order and are retried after 1 s, then 2 s, never sooner",
          "[daemon-unit]") {
  RecordsFixture f;
  Records& r = *f.records;
  auto event = [](std::int64_t ts, const char* kind) {
    return bs::store::Event{0, ts, "alpha", "bottle-alpha", kind, ""};
  };
  f.refuse("INSERT", "events");
  r.record_event(event(1, "patched"));
  r.record_event(event(2, "verified"));  // behind the first, without a write of its own
  CHECK(r.events_pending() == 2);

  // The store takes events again half-way through the first backoff: nothing is written before it ends.
  f.time.advance(500ms);
  f.raw().exec("DROP TRIGGER refuse_events");
  f.time.advance(499ms);
  CHECK(r.events_pending() == 2);
  f.time.advance(1ms);
  CHECK(r.events_pending() == 0);
  auto stored = f.reader().events("", 0, 0, 0);
  REQUIRE(stored);
  REQUIRE(stored->size() == 2);
  CHECK(stored->front().kind == "patched");  // in the order they were recorded
  CHECK(stored->back().kind == "verified");
  CHECK(stored->front().id < stored->back().id);

  // Refused again: the first retry (after 1 s) fails too, the next comes 2 s after it.
  f.refuse("INSERT", "events");
  r.record_event(event(3, "killed"));
  f.time.advance(1000ms);
  CHECK(r.events_pending() == 1);
  f.raw().exec("DROP TRIGGER refuse_events");
  f.time.advance(1999ms);
  CHECK(r.events_pending() == 1);
  f.time.advance(1ms);
  CHECK(r.events_pending() == 0);
  CHECK(f.time.pending() == 0);  // nothing left ticking
}
