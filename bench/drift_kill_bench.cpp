// Drift-to-kill latency: how long a VM booted with the wrong egress policy runs once smolvm has
// recorded it, with bottle-supervisor watching, and with a reference watchdog that polls every
// second instead (CONTRACT §6 step 4: "at once").
//
// Set-up: a temporary HOME, the real daemon and smolvm-sim, two bottles: run-1 (running, so the
// daemon has a live VM to keep checking) and drift-1 (state = "stopped", so nothing restarts it
// and no restart races the next event). Each event starts drift-1's machine out of band with
// SMOLVM_SIM_FORCE_POLICY='["0.0.0.0/0"]'. t0 = the WAL write that committed the new pid
// (CommitWatch, its own thread); t1 = the VM's exit, seen through a pidfd on another thread (the
// kernel wakes it as the process dies; no polling interval). Latency = t1 - t0.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <regex>
#include <thread>

#include "bench/common/commit_watch.h"
#include "bench/common/control.h"
#include "bench/common/kill_scene.h"
#include "bench/common/reference_poller.h"
#include "bench/common/run_control.h"
#include "bench/common/sandbox.h"
#include "bench/common/samples.h"
#include "bench/common/wait.h"
#include "platform/pidfd.h"

namespace {

using namespace bs::bench;
using namespace std::chrono_literals;

const std::string kMachine = "bottle-drift-1";

// Reads the child's stdout until smolvm-sim's "Machine 'M' running (PID: N)" line. The sim prints
// it after the VM is up and BEFORE it commits the row, so we hold a pidfd before anyone can kill.
std::optional<std::int64_t> read_started_pid(int fd, std::chrono::milliseconds timeout) {
  static const std::regex kPid(R"(running \(PID: ([0-9]+)\))");
  const auto deadline = Clock::now() + timeout;
  std::string out;
  char buf[512];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    std::smatch m;
    if (std::regex_search(out, m, kPid)) return std::stoll(m[1].str());
  }
  return std::nullopt;
}

struct EventResult {
  std::optional<double> latency_ms;
  std::int64_t vm_pid = 0;
  std::string error;
};

// One out-of-band start with an unrestricted policy, timed from its commit to the VM's death.
EventResult drift_event(Sandbox& sb, CommitWatch& watch, std::optional<std::int64_t> previous_pid) {
  EventResult res;
  watch.arm(previous_pid);
  auto child = sb.spawn({"smolvm", "machine", "start", "--name", kMachine},
                        {R"(SMOLVM_SIM_FORCE_POLICY=["0.0.0.0/0"])"}, true);
  if (!child) {
    res.error = child.error();
    return res;
  }
  auto pid = read_started_pid(child->stdout_fd, 10s);
  if (!pid) {
    ::close(child->stdout_fd);
    reap(child->pid, 10000);
    res.error = "smolvm machine start printed no pid";
    return res;
  }
  res.vm_pid = *pid;
  auto pidfd = bs::platform::PidFd::open(*pid);
  std::optional<Clock::time_point> gone;
  if (pidfd) {
    // 60 s: longer than the daemon's 30 s (±10 %) resync, the floor if the event path missed it.
    pollfd p{pidfd->fd(), POLLIN, 0};
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline && !interrupted()) {
      int rc = ::poll(&p, 1, 200);
      if (rc > 0) {
        gone = Clock::now();
        break;
      }
    }
  }
  auto commit = watch.wait(5s);
  ::close(child->stdout_fd);
  reap(child->pid, 10000);  // the sim exits right after its commit
  if (!gone) {
    res.error = pidfd ? "the VM was still running after 60 s" : "cannot open a pidfd for the VM";
    return res;
  }
  reap(static_cast<pid_t>(*pid), 5000);  // handed to us (subreaper) when the sim exited
  if (!commit || commit->pid != *pid) {
    res.error = "did not see the row commit of pid " + std::to_string(*pid);
    return res;
  }
  res.latency_ms = ms_between(commit->at, *gone);
  return res;
}

int run(const Options& opt) {
  const int events = opt.quick ? 20 : 200;
  // The same number of events against the poller (fewer in a --quick smoke run: each costs ~1 s).
  const int baseline_events = opt.quick ? 5 : events;

  auto scene = start_kill_scene(opt, "log_level = \"warn\"\n", "drift-1");
  if (!scene) return 1;
  Sandbox& sb = *scene->sandbox;
  nlohmann::json& doc = scene->status;
  const auto& desired = scene->desired;

  auto watch = CommitWatch::start(sb.smolvm(), kMachine);
  if (!watch) {
    std::fprintf(stderr, "error: %s\n", watch.error().c_str());
    return 1;
  }

  // The main thread takes t1 (the pidfd wake-up): same priority as the commit watcher.
  raise_clock_priority();
  std::printf("drift-to-kill: %d events against bottle-supervisor, %d against a 1 s poller%s\n", events,
              baseline_events, opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  // Against the daemon. The first event is a warm-up (a machine's first start also commits
  // init_completed, and the page cache is cold): not counted.
  std::vector<double> daemon_ms;
  std::optional<std::int64_t> last_pid;
  int failures = 0;
  std::uint64_t kills_before = doc["supervisor"]["counters"]["drift_kills"].get<std::uint64_t>();
  // A time budget keeps the whole run near 3 minutes even when kills are slow (each event then
  // waits for the resync); the table says how many events it got.
  const auto budget = Clock::now() + (opt.quick ? 20s : 120s);
  for (int i = 0; i <= events && !interrupted(); ++i) {
    if (Clock::now() > budget) {
      std::fprintf(stderr, "time budget spent after %d events against the daemon\n", i);
      break;
    }
    EventResult r = drift_event(sb, **watch, last_pid);
    if (r.vm_pid != 0) last_pid = r.vm_pid;
    if (!r.latency_ms) {
      ++failures;
      std::fprintf(stderr, "event %d: %s\n", i, r.error.c_str());
      if (r.vm_pid == 0) break;
    } else if (i > 0) {
      daemon_ms.push_back(*r.latency_ms);
      if (opt.verbose) std::printf("  supervisor event %d: %.3f ms\n", i, *r.latency_ms);
    }
    // The kill must have been the daemon's, and it must be done with the bottle before the next.
    const std::uint64_t want = kills_before + static_cast<std::uint64_t>(i) + 1;
    bool calm = wait_kill_recorded(sb, "drift-1", want);
    if (!calm) {
      std::fprintf(stderr, "event %d: the daemon did not record the drift kill / settle within 60 s\n", i);
      ++failures;
    }
  }
  auto final_doc = status(sb.socket_path());
  if (auto err = sb.stop_daemon()) std::fprintf(stderr, "warning: %s\n", err->c_str());

  // Against the reference poller, the daemon stopped. Events arrive at a random phase of the
  // poller's 1 s cycle (a deliberate random pause, not a synchronisation), as real ones would.
  std::vector<double> poller_ms;
  ReferencePoller poller(sb.smolvm(), desired, 1000ms);
  poller.start();
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> phase_ms(0, 999);
  for (int i = 0; i < baseline_events && !interrupted(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms(rng)));
    EventResult r = drift_event(sb, **watch, last_pid);
    if (r.vm_pid != 0) last_pid = r.vm_pid;
    if (!r.latency_ms) {
      ++failures;
      std::fprintf(stderr, "baseline event %d: %s\n", i, r.error.c_str());
      if (r.vm_pid == 0) break;
      continue;
    }
    poller_ms.push_back(*r.latency_ms);
    if (opt.verbose) std::printf("  poller event %d: %.3f ms\n", i, *r.latency_ms);
  }
  poller.stop();

  const Summary d = summarize(daemon_ms), p = summarize(poller_ms);
  print_table("drift-to-kill latency: row committed -> VM gone (ms)",
              {{"bottle-supervisor (inotify + data_version)", d},
               {"reference watchdog polling every 1 s", p},
               {"  reference watchdog: one check of all rows", summarize(poller.check_ms())}});
  if (d.n > 0 && p.n > 0 && d.median > 0 && d.p99 > 0) {
    print_value("poller median / supervisor median", p.median / d.median, "x");
    print_value("poller p99 / supervisor p99", p.p99 / d.p99, "x");
  }
  if (final_doc) {
    print_value("daemon drift_kills counter", (*final_doc)["supervisor"]["counters"]["drift_kills"].get<double>(), "");
  }
  print_value("poller kills", static_cast<double>(poller.kills()), "");
  print_value("failed events", failures, "");
  print_note("t0 = wake-up on the WAL write that committed the pid (bench thread, own connection);");
  print_note("t1 = the VM's exit via pidfd. Target: supervisor p99 <= 10 ms and >= 100x the poller.");
  print_clock_priority_note();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what =
      "Drift-to-kill latency of bottle-supervisor against a 1 s polling watchdog.";
  return bs::bench::bench_main(argc, argv, what, run);
}
