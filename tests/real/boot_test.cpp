// Scenarios against real smolvm that need a booted VM ([boot]: they skip, with the boot probe's
// reason, where VMs cannot boot). Bottles are created from the probe's packed .smolmachine: a
// registry image would be pulled inside the guest, which their /32 allowlist forbids.
//
// Out-of-band steps a user (or a buggy tool) could take are played with the real CLI; where the
// order of two writers matters, the supervisor is paused (SIGSTOP, our own child) so the
// unconfined state really happens instead of being re-patched before smolvm reads it.
#include <signal.h>

#include <catch2/catch.hpp>
#include <memory>

#include "real/real_smolvm.h"

using namespace bs::real;

namespace {

const Ms kBoot(180000);  // a start waits for the guest agent; generous for a loaded host

// SIGSTOPs the daemon for the scope's life; SIGCONT on the way out, also when a check fails.
class Paused {
 public:
  explicit Paused(Daemon& d) : d_(d) { d_.signal(SIGSTOP); }
  ~Paused() { resume(); }
  Paused(const Paused&) = delete;
  Paused& operator=(const Paused&) = delete;
  void resume() {
    if (paused_) d_.signal(SIGCONT);
    paused_ = false;
  }

 private:
  Daemon& d_;
  bool paused_ = true;
};

// The bottle's VM verified by the supervisor and by us: the status pid is the VM agent.pid
// names, and that VM booted with the bottle's /32 (agent.config.json).
Json wait_booted_confined(const RealHome& h, const std::string& bottle) {
  Json b = h.wait_verified(bottle, kBoot);
  const std::string machine = b["machine"];
  const std::int64_t pid = b["pid"];
  h.wait_until("the row of " + machine + " names the VM", [&] {
    auto r = h.row(machine);
    return r && r->json()["pid"] == pid;
  }, kBoot);
  CHECK(h.agent_pid(machine) == pid);
  CHECK(h.agent_policy(machine) == b["allowlist"]);
  CHECK(h.row(machine)->json()["allowed_cidrs"] == b["allowlist"]);
  CHECK(pid_alive(pid));
  return b;
}

bool killed_event_for(const RealHome& h, const std::string& bottle, std::int64_t pid) {
  for (const char* kind : {"drift-killed", "stray-killed"}) {
    for (const Json& e : h.events(kind, bottle)) {
      if (mentions_pid(e.value("detail", ""), pid)) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("real boot: a spec becomes a started VM whose booted policy is verified", "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  auto t0 = Clock::now();
  h.write_spec("b1", boot_spec(p));
  Json b = wait_booted_confined(h, "b1");
  print_metric("spec-to-verified-ms", elapsed_ms(t0));
  CHECK(b["address"] == "127.0.0.16");
  CHECK(h.events("started", "b1").size() == 1);
  CHECK(h.events("drift-killed", "b1").empty());
  CHECK(h.status().exit_code == 0);
}

TEST_CASE("real boot: an out-of-band unrestricted boot is drift-killed and the bottle comes back confined",
          "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  auto d = std::make_unique<Daemon>(h);
  d->wait_answering();
  h.write_spec("b1", boot_spec(p));
  const std::int64_t confined_pid = wait_booted_confined(h, "b1")["pid"];
  // The supervisor leaves VMs running when it stops; meanwhile a user reboots the VM unrestricted.
  REQUIRE(d->stop() == 0);
  d.reset();
  for (const std::vector<std::string>& step :
       {std::vector<std::string>{"machine", "stop", "--name", "bottle-b1"},
        std::vector<std::string>{"machine", "update", "--name", "bottle-b1", "--net", "--reset-allow-list"},
        std::vector<std::string>{"machine", "start", "--name", "bottle-b1"}}) {
    RunResult r = h.smolvm(step, kBoot);
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
  }
  CHECK(wait_pid_gone(confined_pid, Ms(30000)));
  auto open_pid = h.agent_pid("bottle-b1");
  REQUIRE(open_pid);
  REQUIRE(h.agent_policy("bottle-b1") == Json(nullptr));  // it really booted unrestricted

  auto t0 = Clock::now();
  Daemon back(h);
  back.wait_answering();
  CHECK(wait_pid_gone(*open_pid, Ms(30000)));
  print_metric("unrestricted-vm-killed-after-restart-ms", elapsed_ms(t0));
  h.wait_until("a drift-killed event naming the unrestricted VM", [&] { return killed_event_for(h, "b1", *open_pid); });
  Json b = wait_booted_confined(h, "b1");
  CHECK(b["pid"] != *open_pid);
}

TEST_CASE("real boot: the stale-copy `machine stop` is caught and re-patched", "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", boot_spec(p));
  const std::int64_t pid = wait_booted_confined(h, "b1")["pid"];
  const std::size_t patches = h.events("patched", "b1").size();

  std::unique_ptr<ChildProcess> stop;
  {
    // The row opened while the supervisor cannot look; `machine stop` reads that copy when it
    // begins and writes it back whole when it ends, after the supervisor has re-patched it.
    Paused paused(d);
    set_allowed_cidrs(h.db_path(), "bottle-b1", nullptr);
    stop = std::make_unique<ChildProcess>(
        std::vector<std::string>{real_smolvm().path, "machine", "stop", "--name", "bottle-b1"}, h.env(),
        h.next_log_path("machine-stop"));
    // Long enough for the stop to read its copy; a stop that finishes sooner ends the wait.
    poll_until([&] { return stop->poll_exit().has_value(); }, Ms(500));
  }
  auto code = stop->wait_exit(kBoot);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(wait_pid_gone(pid, Ms(30000)));

  // Whatever order the writes landed in, the row ends confined and the bottle runs confined again.
  h.wait_until("the row of bottle-b1 confined again", [&] {
    auto r = h.row("bottle-b1");
    return r && r->json()["allowed_cidrs"] == kFirstAllowlist && h.events("patched", "b1").size() > patches;
  }, kBoot);
  Json b = wait_booted_confined(h, "b1");
  CHECK(b["pid"] != pid);
  CHECK(h.row("bottle-b1")->blob);
  const std::size_t repatches = h.events("patched", "b1").size() - patches;
  // 2: the opened row, then stop's stale copy of it; 1: the stop read the row after the first patch.
  WARN("re-patches after the opened row and the stop: " << repatches);
}

TEST_CASE("real boot: a supervisor restart keeps the running VM", "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  auto d = std::make_unique<Daemon>(h);
  d->wait_answering();
  h.write_spec("b1", boot_spec(p));
  const std::int64_t pid = wait_booted_confined(h, "b1")["pid"];
  const auto start_time = pid_start_time(pid);
  REQUIRE(d->stop() == 0);
  d.reset();
  CHECK(pid_alive(pid));

  Daemon again(h);
  again.wait_answering();
  Json b = wait_booted_confined(h, "b1");
  CHECK(b["pid"] == pid);
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.events("started", "b1").size() == 1);
  CHECK(h.events("drift-killed", "b1").empty());
  CHECK(h.events("stray-killed", "b1").empty());
}

TEST_CASE("real boot: removing the spec deletes the running machine and frees the lease", "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", boot_spec(p));
  const std::int64_t pid = wait_booted_confined(h, "b1")["pid"];

  h.remove_spec("b1");
  h.wait_until("bottle-b1 gone from `smolvm machine ls`", [&] { return !h.listed("bottle-b1"); }, kBoot);
  CHECK(wait_pid_gone(pid, Ms(30000)));
  h.wait_until("the deleted and lease-released events of b1", [&] {
    return h.events("deleted", "b1").size() == 1 && h.events("lease-released", "b1").size() == 1;
  });
  h.wait_until("bottle b1 no longer listed", [&] { return h.status().bottle("b1").is_null(); });
  CHECK(h.events("drift-killed", "b1").empty());
}

TEST_CASE("real boot: an out-of-band start of an opened row fails, its VM killed before the agent answered",
          "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", boot_spec(p, "state = \"stopped\""));
  h.wait_confined_stopped("b1", kBoot);

  std::unique_ptr<ChildProcess> start;
  const std::string start_log = h.next_log_path("machine-start");
  std::int64_t vm = 0;
  Clock::time_point spawned_seen;
  {
    // Paused, so the opened row is what `machine start` boots from (running, the supervisor
    // would re-patch it first; that race is the one it is built to win, not this test's subject).
    Paused paused(d);
    RunResult opened = h.smolvm({"machine", "update", "--name", "bottle-b1", "--net", "--reset-allow-list"});
    INFO(opened.describe());
    REQUIRE(opened.exit_code == 0);
    start = std::make_unique<ChildProcess>(
        std::vector<std::string>{real_smolvm().path, "machine", "start", "--name", "bottle-b1"}, h.env(), start_log);
    h.wait_until("the out-of-band VM spawned (agent.pid) with no allowlist", [&] {
      auto pid = h.agent_pid("bottle-b1");
      if (!pid || !pid_alive(*pid)) return false;
      vm = *pid;
      return h.agent_policy("bottle-b1") == Json(nullptr);
    }, kBoot);
    spawned_seen = Clock::now();
  }
  CHECK(wait_pid_gone(vm, Ms(30000)));
  print_metric("unconfined-vm-lived-after-supervisor-resumed-ms", elapsed_ms(spawned_seen));
  auto code = start->wait_exit(kBoot);
  INFO("machine start said: " << without_notes(read_file(start_log)));
  REQUIRE(code);
  CHECK(*code != 0);
  h.wait_until("a kill event naming the unconfined VM", [&] { return killed_event_for(h, "b1", vm); });
  h.wait_confined_stopped("b1", kBoot);
  CHECK(h.row("bottle-b1")->json()["allowed_cidrs"] == kFirstAllowlist);
  CHECK(h.row("bottle-b1")->blob);
}
