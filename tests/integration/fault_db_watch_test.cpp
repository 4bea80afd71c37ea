// The watch on smolvm's DB under attack: its server/ folder deleted or renamed, smolvm.db replaced
// by a file with no usable `vms` table while the old -wal/-shm remain, the -wal/-shm deleted, the
// DB made unreadable. The resync interval is 1 h throughout: only the watch can notice in time.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "fault_support.h"
#include "support/poll.h"
#include "support/proc.h"
#include "support/vm_cleanup.h"
#include "support/sqlite_db.h"

using namespace bs::integ;
namespace fs = std::filesystem;

namespace {

ConfigOptions hour_resync() {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  return cfg;
}

Json bottle_allowlist(const Json& bottle) { return Json::array({bottle["address"].get<std::string>() + "/32"}); }

// An out-of-band write that leaves the machine unrestricted; the daemon must patch it back.
void expect_repatched(const TempHome& h, const std::string& bottle, const Json& allowlist) {
  // Not a wait for a condition: after each DB event the daemon re-reads the DB for 255 ms (its
  // recheck series), which would catch this write even with a dead watch. The scenario is a write
  // that comes later, when only the watch can see it.
  std::this_thread::sleep_for(Ms(600));
  set_allowed_cidrs(h.db_path(), "bottle-" + bottle, nullptr);
  h.wait_until("bottle " + bottle + "'s unrestricted row patched back within seconds", [&] {
    auto row = h.row("bottle-" + bottle);
    return row && row->json()["allowed_cidrs"] == allowlist;
  }, Ms(5000));
}

// CPU time (user + system) of `pid` in clock ticks; -1 when it cannot be read.
long cpu_ticks(pid_t pid) {
  auto st = bs::test::proc_stat(pid);
  return st ? static_cast<long>(st->cpu_ticks) : -1;
}

void exec_sql(const std::string& db_path, const std::string& sql) {
  bs::test::SqliteDb(db_path, bs::test::SqliteDb::Mode::Create, 0).exec(sql);
}

}  // namespace

TEST_CASE("fault: smolvm's server folder deleted or renamed, then recreated: the DB watch keeps working",
          "[integration][fault][db-watch]") {
  TempHome h(hour_resync());
  Daemon d(h);
  d.wait_answering();
  h.write_spec("w", spec_toml());

  const std::int64_t vm = h.wait_verified("w")["pid"];
  const std::string server = h.smolvm_paths().server_dir;

  SECTION("deleted") { fs::remove_all(server); }
  SECTION("renamed") { fs::rename(server, server + ".old"); }
  // The daemon sees the DB gone: the VM no row vouches for is killed, and the next smolvm command
  // (its own `machine create`) makes a new folder and DB, as a user "resetting" smolvm would see.
  h.wait_until("a new server folder with the machine's row", [&] {
    try {
      return h.row("bottle-w").has_value();
    } catch (const std::exception&) {
      return false;  // caught while smolvm was creating the DB: no vms table yet
    }
  }, Ms(20000));
  Json b;
  h.wait_until("the machine running again, confined", [&] {
    b = h.status().bottle("w");
    return verified_running(b) && b["pid"] != vm;
  }, Ms(20000));
  // An unrelated smolvm command on the new DB, as the user's next command would be.
  RunResult created = h.sim({"machine", "create", "--name", "stranger", "--image", "alpine:3.20", "--net"});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  // And keeps seeing it: an out-of-band change is patched back in seconds, not at the next resync.
  expect_repatched(h, "w", bottle_allowlist(b));
  expect_repatched(h, "w", bottle_allowlist(b));
}

TEST_CASE("fault: smolvm.db replaced by a file with no vms table while the old -wal/-shm remain: bounded, cannot verify",
          "[integration][fault][db-watch]") {
  TempHome h(hour_resync());
  Daemon d(h);
  d.wait_answering();
  h.write_spec("r", spec_toml());
  const std::int64_t vm = h.wait_verified("r")["pid"];
  const auto vm_start = bs::test::pid_start_time(vm);
  REQUIRE(vm_start);
  const std::string db = h.db_path();
  REQUIRE(fs::exists(db + "-wal"));
  REQUIRE(fs::exists(db + "-shm"));

  // The old WAL emptied first (a TRUNCATE checkpoint from a connection of our own): frames left in
  // it would be read on top of the replacement by the next connection, which would then see the
  // old vms table again, or a corrupt file, depending on how far smolvm's writes had been
  // checkpointed. The scenario is the replacement with the old files still there, not that race.
  {
    bs::test::SqliteDb checkpointer(db, bs::test::SqliteDb::Mode::ReadWrite, 0);
    REQUIRE(bs::test::poll_until([&] { return checkpointer.integer("PRAGMA wal_checkpoint(TRUNCATE)") == 0; },
                                 Ms(5000)));
  }
  REQUIRE(fs::exists(db + "-wal"));  // still there, and empty
  REQUIRE(fs::file_size(db + "-wal") == 0);
  const std::string foreign = h.dir() + "/foreign.db";
  exec_sql(foreign, "CREATE TABLE other(x); INSERT INTO other VALUES (1);");
  fs::rename(foreign, db);  // the daemon's connection keeps the old -wal/-shm alive

  // The loop stays responsive and idle: status answers, and the daemon does not burn a CPU.
  h.wait_until("the bottle reported as unverifiable, naming the DB", [&] {
    Json bj = h.status().bottle("r");
    return bj.is_object() && bj["confinement"] == "unverifiable" && bj["error"].is_string() &&
           contains(bj["error"], db);
  }, Ms(10000));
  const long before = cpu_ticks(d.pid());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {  // status requests while the DB stays broken
    Status st = h.status();
    REQUIRE(st.exit_code != 3);
    std::this_thread::sleep_for(Ms(200));  // measurement window, not a wait for a condition
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = static_cast<double>(cpu_ticks(d.pid()) - before) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  INFO("daemon CPU " << cpu << " s in " << secs << " s");
  CHECK(cpu < 0.25 * secs);
  // The VM it verified keeps running: its confinement is enforced through the verified pid.
  CHECK(pid_alive(vm));
  CHECK(h.status().bottle("r")["pid"] == vm);
  // No row names this VM any more, so the home's clean-up cannot find it: ours to end (pid and
  // start time as verified above).
  bs::test::kill_verified_and_reap(vm, *vm_start);
}

TEST_CASE("fault: smolvm.db-wal and -shm deleted under the daemon: it reopens and keeps enforcing",
          "[integration][fault][db-watch]") {
  TempHome h(hour_resync());
  Daemon d(h);
  d.wait_answering();
  h.write_spec("s", spec_toml());
  Json b = h.wait_verified("s");
  const std::string db = h.db_path();
  // Fold the WAL into the DB first, so deleting it loses no commit (a careless cleanup would).
  exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE);");
  fs::remove(db + "-wal");
  fs::remove(db + "-shm");

  expect_repatched(h, "s", bottle_allowlist(b));
  CHECK(h.wait_verified("s")["pid"] == b["pid"]);
  RunResult ls = h.sim({"machine", "ls"});
  INFO(ls.describe());
  CHECK(ls.exit_code == 0);
}

TEST_CASE("fault: smolvm.db made unreadable (chmod 000): status says so, the verified VM keeps running",
          "[integration][fault][db-watch]") {
  TempHome h(hour_resync());
  Daemon d(h);
  d.wait_answering();
  h.write_spec("u", spec_toml());
  const std::int64_t vm = h.wait_verified("u")["pid"];
  const std::string db = h.db_path();

  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  REQUIRE(::chmod(db.c_str(), 0) == 0);
  h.wait_until("the bottle reported as unverifiable, naming the DB", [&] {
    Json bj = h.status().bottle("u");
    return bj.is_object() && bj["confinement"] == "unverifiable" && bj["error"].is_string() &&
           contains(bj["error"], db);
  }, Ms(5000));
  CHECK(pid_alive(vm));

  REQUIRE(::chmod(db.c_str(), st.st_mode & 07777) == 0);
  CHECK(h.wait_verified("u", Ms(5000))["pid"] == vm);
}

TEST_CASE("fault: the row names a dead pid while the verified VM runs and agent.pid names it: still its VM, no exit",
          "[integration][fault][db-watch]") {
  // smolvm's own record of the VM (agent.pid, agent.config.json) still names the verified VM:
  // it is this machine's VM, confined; a row gone wrong is no reason to kill it, nor to record
  // an exit while it runs (the misleading state this replaces).
  TempHome h(hour_resync());
  Daemon d(h);
  d.wait_answering();
  h.write_spec("p", spec_toml());
  const std::int64_t vm = h.wait_verified("p")["pid"];
  // A pid no process has (above any pid_max in use here), as a confused smolvm might record.
  const std::int64_t bogus = 4194000;
  REQUIRE_FALSE(pid_alive(bogus));
  update_row(h.db_path(), "bottle-p", [&](nlohmann::ordered_json& r) {
    r["pid"] = bogus;
    r["pid_start_time"] = 12345;
  });
  // The row change is seen (the DB watch) and judged: the bottle stays verified on its VM.
  h.wait_until("the daemon to look at the changed row", [&] {
    RunResult r = h.cli({"reconcile"});
    return r.exit_code == 0;
  });
  Json b = h.wait_verified("p", Ms(5000));
  CHECK(b["pid"] == vm);
  CHECK(pid_alive(vm));
  for (const Json& e : h.events("exited", "p")) CHECK_FALSE(mentions_pid(e.value("detail", ""), vm));
  CHECK(h.events("stray-killed", "p").empty());
  CHECK(h.events("drift-killed", "p").empty());
}

TEST_CASE("fault: a start that hangs shows as in flight, confinement pending, not converged",
          "[integration][fault][db-watch]") {
  ConfigOptions cfg = hour_resync();
  cfg.command_timeout = "6s";  // bounds the stop at the end: the hung start is killed by then
  TempHome h(cfg);
  install_smolvm_wrapper(h, "bottle-hung", {{"SMOLVM_SIM_HANG_SECS", "30"}, {"SMOLVM_SIM_HANG_COMMANDS", "start"}});
  Daemon d(h);
  d.wait_answering();
  h.write_spec("hung", spec_toml());
  Json b;
  h.wait_until("the hung start reported in flight", [&] {
    b = h.status().bottle("hung");
    return b.is_object() && b.value("in_flight", Json()) == "start";
  }, Ms(10000));
  CHECK(b["actual"] == "stopped");
  CHECK(b["confinement"] == "pending");
  CHECK(b["converged"] == false);
}
