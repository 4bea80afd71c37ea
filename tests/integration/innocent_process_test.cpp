// Issue 14, never kill an innocent process, against the running daemon (the unit tests check the
// rules; this checks the daemon applies them): processes of the user's that merely mention a
// managed VM's words (`_boot-vm` and its boot-config.json) are never taken for strays, also long
// after the boot pending window and on a forced full pass; and a row that names one of them with
// its TRUE start time (as a confused or hostile writer of smolvm's DB might) never gets it
// signalled, nor the bottle reported verified on it. The resync is 1 h: only the events and the
// explicit `reconcile` passes act.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>

#include "harness.h"
#include "platform/process.h"
#include "support/forked_child.h"
#include "supervisor/vm_processes.h"

using namespace bs::integ;
using bs::test::ForkedChild;

namespace {

struct Innocent {
  std::string what;
  std::unique_ptr<ForkedChild> child;
  std::uint64_t start_time = 0;
};

// Each reads its stdin (the release pipe the test holds), so each lives until released.
std::vector<Innocent> start_innocents(const TempHome& h, const std::string& machine) {
  const std::string config = h.smolvm_paths().boot_config(machine);
  // A script named `_boot-vm` in a folder of its own: `sh _boot-vm <config>` run under the name
  // /usr/bin/grep has the command line of `grep _boot-vm <config>`, a VM's but for argv[0].
  const std::string scripts = h.dir() + "/innocent";
  std::filesystem::create_directories(scripts);
  bs::test::write_file(scripts + "/_boot-vm", "read x\n", 0644);

  std::vector<Innocent> out;
  out.push_back({"sh -c 'read x' _boot-vm " + config,
                 std::make_unique<ForkedChild>(ForkedChild::exec({"/bin/sh", "-c", "read x", "_boot-vm", config}))});
  out.push_back({"sh -c 'read x; grep _boot-vm " + config + "'",
                 std::make_unique<ForkedChild>(ForkedChild::exec({"/bin/sh", "-c", "read x; grep _boot-vm " + config}))});
  out.push_back({"/usr/bin/grep _boot-vm " + config + " (sh running a script)",
                 std::make_unique<ForkedChild>(ForkedChild::spawn([scripts, config] {
                   if (::chdir(scripts.c_str()) != 0) ::_exit(125);
                   const char* argv[] = {"/usr/bin/grep", "_boot-vm", config.c_str(), nullptr};
                   ::execv("/bin/sh", const_cast<char* const*>(argv));
                   ::_exit(127);
                 }))});
  for (Innocent& p : out) {
    INFO(p.what);
    // Exec'd (the command line is the new one) and reading its stdin.
    REQUIRE(poll_until([&] {
      auto cmdline = bs::platform::read_cmdline(p.child->pid());
      auto st = pid_start_time(p.child->pid());
      if (!cmdline || !st || !contains(*cmdline, "_boot-vm")) return false;
      p.start_time = *st;
      return true;
    }, Ms(5000)));
  }
  return out;
}

// Older than the boot pending window: a `_boot-vm` nothing names would now count as a stray.
void wait_past_pending_window(const TempHome& h, const std::vector<Innocent>& innocents) {
  h.wait_until("the innocent processes older than the boot pending window", [&] {
    for (const Innocent& p : innocents) {
      auto age = bs::platform::process_age_ms(p.start_time);
      if (!age || *age <= bs::supervisor::kBootPendingWindowMs + 200) return false;
    }
    return true;
  });
}

void check_untouched(const std::vector<Innocent>& innocents) {
  for (const Innocent& p : innocents) {
    INFO(p.what << " (pid " << p.child->pid() << ")");
    CHECK(pid_start_time(p.child->pid()) == p.start_time);
  }
}

// Releases each and checks it ended by itself (an exit, not a signal).
void release_and_check_exits(std::vector<Innocent>& innocents) {
  for (Innocent& p : innocents) {
    INFO(p.what << " (pid " << p.child->pid() << ")");
    if (pid_start_time(p.child->pid()) != p.start_time) {
      p.child->reaped_elsewhere();  // gone already (reaped by the harness): never signal it again
      FAIL_CHECK("it did not live until released");
      continue;
    }
    p.child->release();
    const int status = p.child->wait();
    CHECK(WIFEXITED(status));
  }
}

}  // namespace

TEST_CASE("innocent processes that mention a managed VM's words are never signalled, nor a row's pid naming one",
          "[integration][safety]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("held", spec_toml());
  const Json first = h.wait_verified("held");
  const std::int64_t vm = first["pid"];
  const auto vm_start = pid_start_time(vm);
  REQUIRE(vm_start);

  std::vector<Innocent> innocents = start_innocents(h, "bottle-held");
  wait_past_pending_window(h, innocents);

  // A full pass with its stray scan, twice (the second sees any readings the first remembered).
  for (int i = 0; i < 2; ++i) {
    RunResult pass = h.cli({"reconcile"});
    INFO(pass.describe());
    CHECK(pass.exit_code == 0);
  }
  check_untouched(innocents);
  Json b = h.wait_verified("held", Ms(5000));
  CHECK(b["pid"] == vm);
  CHECK(pid_start_time(vm) == vm_start);
  CHECK(h.events("stray-killed").empty());
  CHECK(h.events("drift-killed").empty());

  // The row names each innocent process in turn, with its true start time.
  for (const Innocent& p : innocents) {
    INFO("the row names " << p.what << " (pid " << p.child->pid() << ")");
    update_row(h.db_path(), "bottle-held", [&](nlohmann::ordered_json& rec) {
      rec["state"] = "running";
      rec["pid"] = p.child->pid();
      rec["pid_start_time"] = p.start_time;
    });
    RunResult pass = h.cli({"reconcile"});  // returns once a full pass is done
    INFO(pass.describe());
    CHECK(pass.exit_code != 3);
    check_untouched(innocents);
    Json now = h.status().bottle("held");
    INFO("status: " << now.dump());
    CHECK(now["pid"] != p.child->pid());
    // It settles on a VM of its own, never on the innocent one.
    Json settled = h.wait_verified("held", Ms(10000));
    CHECK(settled["pid"] != p.child->pid());
    CHECK(h.booted_policy(settled["pid"]) == kFirstAllowlist);
    check_untouched(innocents);
  }
  // No kill of any kind names an innocent pid (the VMs the row claims displaced may be killed).
  for (const Json& e : h.events()) {
    if (!contains(e.value("kind", ""), "killed")) continue;
    INFO("event: " << e.dump());
    for (const Innocent& p : innocents) CHECK_FALSE(mentions_pid(e.value("detail", ""), p.child->pid()));
  }
  CHECK(h.events("stray-killed").empty());
  release_and_check_exits(innocents);
}
