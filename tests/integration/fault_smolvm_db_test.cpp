// smolvm's DB damaged under a running supervisor: a managed row deleted, the whole DB deleted and
// recreated, a record stored as TEXT or as bytes that are not JSON. Each time: fail closed (no VM
// runs that the row cannot vouch for, a clear error), then recover once the DB is sound again.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "fault_support.h"

using namespace bs::integ;

namespace {

Json own_allowlist(const Json& bottle) { return Json::array({bottle["address"].get<std::string>() + "/32"}); }

// The kill event (drift-killed or stray-killed) that names `pid`, or null.
Json kill_of(const TempHome& h, std::int64_t pid) {
  for (const Json& e : h.events()) {
    const std::string kind = e.value("kind", "");
    if ((kind == "drift-killed" || kind == "stray-killed") && mentions_pid(e.value("detail", ""), pid)) return e;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("fault: a managed row deleted under its running VM: killed as unverifiable, re-created, verified",
          "[integration][fault]") {
  TempHome h;  // no resync within the test: the DB watch alone must see it
  Daemon d(h);
  d.wait_answering();
  h.write_spec("gone", spec_toml());
  h.write_spec("stays", spec_toml());
  const std::int64_t vm = h.wait_verified("gone")["pid"];
  const std::int64_t other = h.wait_verified("stays")["pid"];

  delete_row(h.db_path(), "bottle-gone");
  h.wait_until("the VM whose row vanished (pid " + std::to_string(vm) + ") to be killed",
               [&] { return !pid_alive(vm); });
  Json kill;
  h.wait_until("the kill event", [&] { return !(kill = kill_of(h, vm)).is_null(); });
  CHECK(kill["bottle"] == "gone");
  CHECK(contains(kill["detail"], "unverifiable"));
  CHECK(contains(kill["detail"], "row is gone"));

  Json b = h.wait_verified("gone", Ms(15000));
  CHECK(b["pid"] != vm);
  CHECK(h.booted_policy(b["pid"]) == own_allowlist(b));
  auto row = h.row("bottle-gone");
  REQUIRE(row);
  CHECK(row->blob);
  CHECK(row->json()["allowed_cidrs"] == own_allowlist(b));
  CHECK(h.events("created", "gone").size() == 2);
  CHECK(h.wait_verified("stays")["pid"] == other);  // untouched
}

TEST_CASE("fault: smolvm's DB deleted and recreated: running VMs killed, machines re-created and verified",
          "[integration][fault]") {
  TempHome h;  // no resync within the test: the DB watch alone must see it
  Daemon d(h);
  d.wait_answering();
  const std::vector<std::string> names = {"db-a", "db-b"};
  std::map<std::string, std::int64_t> vms;
  for (const auto& n : names) h.write_spec(n, spec_toml());
  for (const auto& n : names) vms[n] = h.wait_verified(n)["pid"];

  // Gone, files and all, as `rm` would do it; then the next smolvm command creates a new one.
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(h.db_path() + suffix);
  RunResult ls = h.sim({"machine", "ls"});
  INFO(ls.describe());
  REQUIRE(ls.exit_code == 0);
  REQUIRE(std::filesystem::exists(h.db_path()));

  // Fail closed: the VMs no row vouches for any more are killed, and say why.
  for (const auto& vm_of : vms) {
    const std::string& name = vm_of.first;  // not a structured binding: clang 14 cannot capture one
    const std::int64_t pid = vm_of.second;
    h.wait_until("VM " + std::to_string(pid) + " of " + name + " killed", [&] { return !pid_alive(pid); });
    Json kill;
    h.wait_until("the kill event for pid " + std::to_string(pid), [&] { return !(kill = kill_of(h, pid)).is_null(); });
    CHECK(kill["bottle"] == name);
    CHECK(contains(kill["detail"], "unverifiable"));
    CHECK(contains(kill["detail"], "row is gone"));
  }
  CHECK(contains(d.log(), "was replaced"));  // the daemon noticed the new file and reopened it

  // Recovery: the machines exist again in the new DB, confined, with new VMs.
  for (const auto& n : names) {
    Json b = h.wait_verified(n, Ms(20000));
    CHECK(b["pid"] != vms[n]);
    CHECK(h.booted_policy(b["pid"]) == own_allowlist(b));
    auto row = h.row("bottle-" + n);
    REQUIRE(row);
    CHECK(row->blob);
    CHECK(row->json()["allowed_cidrs"] == own_allowlist(b));
  }
  CHECK(integrity_check(h.db_path()) == "ok");
  CHECK(h.status().exit_code == 0);
}

TEST_CASE("fault: a TEXT record and a record that is not JSON: cannot verify and not started until the rows are fixed",
          "[integration][fault]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  // Created, confined and stopped first, so their rows exist before the damage.
  for (const char* n : {"texty", "garbled"}) h.write_spec(n, spec_toml("state = \"stopped\""));
  h.write_spec("fine", spec_toml());
  for (const char* n : {"texty", "garbled"}) {
    h.wait_until(std::string("bottle ") + n + " created, confined, stopped", [&] {
      Json b = h.status().bottle(n);
      return b.is_object() && b["actual"] == "stopped" && b["confinement"] == "verified" && b.value("converged", false);
    });
  }
  const std::int64_t fine_vm = h.wait_verified("fine")["pid"];
  // Errors before the damage (a create that met "database is locked" beside the others, say) are
  // not the damage's: the other bottle must get no new one.
  const std::size_t fine_errors = h.events("error", "fine").size();
  const StoredRow texty = *h.row("bottle-texty");
  const StoredRow garbled = *h.row("bottle-garbled");
  REQUIRE(texty.blob);

  write_row_text(h.db_path(), "bottle-texty", texty.data);  // the same JSON, typed TEXT
  write_row_blob(h.db_path(), "bottle-garbled", "{\"name\":\"bottle-garbled\",\"allowed_cidrs\":[");  // cut short
  REQUIRE_FALSE(h.row("bottle-texty")->blob);
  for (const char* n : {"texty", "garbled"}) h.write_spec(n, spec_toml());  // now they should run

  for (const char* n : {"texty", "garbled"}) {
    Json b;
    h.wait_until(std::string("bottle ") + n + " to show that it cannot verify its row", [&] {
      b = h.status().bottle(n);
      return b.is_object() && b["desired"] == "running" && b["error"].is_string() &&
             contains(b["error"], "cannot verify");
    });
    INFO(b.dump());
    CHECK(b["converged"] == false);
    CHECK(b["actual"] != "running");
    CHECK(b["confinement"] != "verified");
    h.wait_until(std::string("the audit log to record bottle ") + n + "'s error", [&] {
      return !mentioning(h.events("error", n), "cannot verify").empty();
    });
  }
  CHECK(contains(h.status().bottle("texty")["error"], "TEXT"));
  // Not started, not even once, while the row cannot be read; and nobody rewrote the damage.
  observe_for(Ms(1500));
  for (const BootVm& vm : boot_vms(h)) CHECK(vm.machine == "bottle-fine");
  CHECK(h.events("started", "texty").empty());
  CHECK(h.events("started", "garbled").empty());
  CHECK_FALSE(h.row("bottle-texty")->blob);
  // The other bottle is unaffected.
  CHECK(h.wait_verified("fine")["pid"] == fine_vm);
  CHECK(h.events("error", "fine").size() == fine_errors);

  // Fixed: both rows written back as valid BLOBs; the bottles recover.
  write_row_blob(h.db_path(), "bottle-texty", texty.data);
  write_row_blob(h.db_path(), "bottle-garbled", garbled.data);
  for (const char* n : {"texty", "garbled"}) {
    Json b = h.wait_verified(n, Ms(20000));
    CHECK(h.booted_policy(b["pid"]) == own_allowlist(b));
    CHECK(h.row(std::string("bottle-") + n)->blob);
  }
  CHECK(h.wait_verified("fine")["pid"] == fine_vm);
}
