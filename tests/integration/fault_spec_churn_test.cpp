// 1,000 spec files created, edited and deleted in bursts: afterwards what exists matches the
// folder exactly (CONTRACT §3 removal, §5 leases, §6 step 7). Most bottles are "stopped" so the
// sim needs VMs for only a few; every remaining one still has a lease, a machine and a confined row.
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "fault_support.h"

using namespace bs::integ;

namespace {

// 1,000 files, of which 60 remain: the sim reads every record on each command (as smolvm's
// sweep of orphaned ephemeral machines does), so each machine costs O(machines) per command and
// 1,000 live machines would take minutes here (measured: ~0.3 s per `machine create` with 600
// rows, 96 s for 600 machines in the GCC build; under ASan 150 remaining took 48 s, 60 take a
// fraction of that). The churn still covers every stage: specs removed before their machine
// exists, after it does, while edited, and rewritten within the removal grace.
constexpr int kSpecs = 1000;
constexpr int kRunning = 20;                  // c0000..c0019 run a VM
constexpr int kFlapFrom = 20, kFlapTo = 40;   // deleted and rewritten within the grace
constexpr int kEditFrom = 40, kEditTo = 400;  // new egress.allow (c0040..c0059 remain edited)
constexpr int kDeleteFrom = 60;               // c0060..c0999 removed for good

std::string name_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%04d", i);
  return buf;
}

std::string churn_spec(int i, bool edited) {
  std::string extra = i < kRunning ? "" : "state = \"stopped\"\n";
  if (edited) extra += "[egress]\nallow = [\"10." + std::to_string(i % 256) + ".0.0/16\"]\n";
  return spec_toml(extra);
}

// Writes specs [from, to) in bursts of `burst`, pausing between bursts (the pacing of a script
// or a sync tool dropping files, not a synchronisation).
template <class F>
void in_bursts(int from, int to, int burst, F&& each) {
  for (int i = from; i < to; ++i) {
    each(i);
    if ((i - from) % burst == burst - 1) observe_for(Ms(50));
  }
}

}  // namespace

TEST_CASE("fault: 1000 specs created, edited and deleted in bursts end exactly as the folder says",
          "[integration][fault]") {
  ConfigOptions cfg;
  cfg.extra_top = "[loopback]\npool = \"127.0.0.0/16\"\n";
  cfg.log_level = "info";  // debug lines for 1,000 bottles would only slow the daemon down
  cfg.command_timeout = "30s";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  // A few doomed bottles get their machines first, so the churn surely deletes existing machines.
  std::vector<std::string> early;
  for (int i = kSpecs - 10; i < kSpecs; ++i) {
    early.push_back(name_of(i));
    h.write_spec(name_of(i), churn_spec(i, false));
  }
  h.wait_until("the first 10 bottles converged", [&] { return all_converged(h.status(), early); }, Ms(30000));
  const auto started = Clock::now();

  in_bursts(0, kSpecs, 200, [&](int i) { h.write_spec(name_of(i), churn_spec(i, false)); });
  in_bursts(kEditFrom, kEditTo, 100, [&](int i) { h.write_spec(name_of(i), churn_spec(i, true)); });
  in_bursts(kDeleteFrom, kSpecs, 100, [&](int i) { h.remove_spec(name_of(i)); });
  in_bursts(kFlapFrom, kFlapTo, 25, [&](int i) {
    h.remove_spec(name_of(i));
    h.write_spec(name_of(i), churn_spec(i, false));
  });
  print_metric("churn_writes_ms", elapsed_ms(started));
  // Some of the doomed bottles got as far as a machine before their spec went: those are deleted.
  std::vector<std::string> remaining;
  for (int i = 0; i < kDeleteFrom; ++i) remaining.push_back(name_of(i));

  // Status for 1,000 bottles is a large document: ask every 2 s, not every 10 ms.
  auto last_ask = Clock::time_point{};
  Status st;
  h.wait_until("the daemon's bottles to be exactly the 60 remaining specs, all converged", [&] {
    if (Clock::now() - last_ask < Ms(2000)) return false;
    last_ask = Clock::now();
    st = h.status();
    return st.exit_code == 0 && st.doc["bottles"].size() == remaining.size() && all_converged(st, remaining);
  }, Ms(200000));
  print_metric("churn_converged_ms", elapsed_ms(started));

  // Machines: exactly one row per remaining spec, confined to its bottle's allowlist.
  std::map<std::string, Json> rows;
  for (const StoredRow& r : read_rows(h.db_path())) {
    CHECK(r.blob);
    rows[r.name] = r.json();
  }
  CHECK(rows.size() == remaining.size());
  // Leases: one per remaining bottle, no address twice; none left for the deleted ones.
  StateSnapshot state = read_state(h);
  std::map<std::string, std::string> lease_of = lease_of_each_bottle(state);
  CHECK(lease_of.size() == remaining.size());

  int checked = 0;
  for (int i = 0; i < kSpecs; ++i) {
    const std::string n = name_of(i);
    INFO("bottle " << n);
    if (i >= kDeleteFrom) {
      CHECK(rows.count("bottle-" + n) == 0);
      CHECK(lease_of.count(n) == 0);
      CHECK(st.bottle(n).is_null());
      continue;
    }
    Json b = st.bottle(n);
    REQUIRE(rows.count("bottle-" + n) == 1);
    REQUIRE(lease_of.count(n) == 1);
    CHECK(b["address"] == lease_of[n]);
    CHECK(rows["bottle-" + n]["allowed_cidrs"] == b["allowlist"]);
    const bool edited = i >= kEditFrom && i < kEditTo;
    CHECK(b["allowlist"].size() == (edited ? 2u : 1u));
    CHECK(b["desired"] == (i < kRunning ? "running" : "stopped"));
    ++checked;
  }
  CHECK(checked == static_cast<int>(remaining.size()));
  // The flapping specs were never removed: no delete, no lease given back.
  for (const auto& e : state.events) {
    if (e.bottle.size() == 5 && e.bottle >= name_of(kFlapFrom) && e.bottle < name_of(kFlapTo)) {
      CHECK(e.kind != "deleted");
      CHECK(e.kind != "lease-released");
    }
  }
  int deleted = 0;
  for (const auto& e : state.events) deleted += e.kind == "deleted" ? 1 : 0;
  print_metric("machines_deleted", deleted);
  CHECK(deleted >= 10);
  // The VMs that run are exactly the running bottles', each booted with its allowlist.
  std::set<std::string> running;
  for (const BootVm& vm : boot_vms(h)) {
    INFO("VM pid " << vm.pid << " of " << vm.machine);
    CHECK(running.insert(vm.machine).second);
    Json b = st.bottle(vm.machine.substr(7));
    REQUIRE(b.is_object());
    CHECK(vm.policy == b["allowlist"]);
  }
  CHECK(running.size() == static_cast<std::size_t>(kRunning));
  CHECK(integrity_check(state_db_path(h)) == "ok");
  CHECK(integrity_check(h.db_path()) == "ok");
}
