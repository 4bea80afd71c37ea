// Scale: 1,000 bottles (pool 127.0.0.0/16) under one daemon.
//   - time from writing all specs to all converged;
//   - one full no-op resync pass: `reconcile` with nothing to do, reading supervisor.last_pass_ms
//     from its reply (resync() start -> work queue idle with no smolvm command running; the
//     reply's own status document is built after that and is not included);
//   - peak RSS of the daemon (VmHWM);
//   - wake-ups when nothing changes: the daemon's own count of loop iterations by cause
//     (supervisor.wakeups) and its context switches over an idle window, with resync_interval at
//     its default 30 s and the systemd watchdog at 20 s (a ping every 10 s);
//   - the sim VMs' private memory, for context.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "bench/common/control.h"
#include "bench/common/proc_readings.h"
#include "bench/common/run_control.h"
#include "bench/common/sandbox.h"
#include "bench/common/samples.h"
#include "bench/common/state_events.h"
#include "bench/common/wait.h"

namespace {

using namespace bs::bench;
using namespace std::chrono_literals;

const char* kConfig =
    "log_level = \"warn\"\n"
    "[loopback]\n"
    "pool = \"127.0.0.0/16\"\n";

const char* kSpec = "image = \"alpine:3.20\"\n";

std::string name_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "b-%04d", i);
  return buf;
}

// The counters and smolvm time that must not move during a no-op pass.
struct Wakeups {
  std::uint64_t loop = 0, resync = 0, watchdog = 0;
};

Wakeups wakeups_of(const nlohmann::json& doc) {
  const auto& w = doc["supervisor"]["wakeups"];
  return {w["loop"].get<std::uint64_t>(), w["resync"].get<std::uint64_t>(), w["watchdog"].get<std::uint64_t>()};
}

std::string activity(const nlohmann::json& doc) {
  const auto& s = doc["supervisor"];
  return s["counters"].dump() + " smolvm_command_ms=" + s["smolvm_command_ms"].dump();
}

int run(const Options& opt) {
  const int n = opt.quick ? 200 : 1000;
  // BS_BENCH_RESYNCS: more no-op passes, e.g. to profile them.
  const char* resyncs_env = std::getenv("BS_BENCH_RESYNCS");
  const int resyncs = resyncs_env != nullptr ? std::atoi(resyncs_env) : (opt.quick ? 10 : 100);
  const auto idle_window = opt.quick ? 20s : 60s;
  const auto converge_budget = opt.quick ? 60s : 150s;

  // The systemd watchdog as a unit with WatchdogSec=20s would set it (no NOTIFY_SOCKET, so the
  // pings go nowhere): its timer is one of the two allowed to wake an idle daemon.
  auto sandbox = start_sandbox(opt, kConfig, {}, {"WATCHDOG_USEC=20000000"});
  if (!sandbox) return 1;
  Sandbox& sb = *sandbox;
  std::fflush(stdout);
  const pid_t daemon = sb.daemon_pid();
  std::printf("scale: %d bottles%s\n", n, opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  // 1. All specs at once -> all converged.
  const auto cpu_at_start = cpu_ns(daemon);
  const std::int64_t t0_wall = wall_ms();
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (auto err = sb.write_spec(name_of(i), kSpec)) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      return 1;
    }
  }
  const double write_ms = ms_between(t0, Clock::now());
  // Progress comes from the daemon's audit log ("verified" pid events), which costs the daemon
  // nothing to read; a status request re-observes all bottles (hundreds of ms at this size), so
  // it is only sent to confirm once the log says every bottle was verified.
  std::vector<double> status_ms;
  nlohmann::json doc;
  std::size_t last_done = 0;
  bool converged = wait_until(
      [&] {
        auto verified = bottles_with_event(sb.state_db(), "verified", "pid ", t0_wall);
        const std::size_t done = verified ? *verified : 0;
        if (opt.verbose && done != last_done) {
          std::printf("  %.1f s: %zu verified\n", ms_between(t0, Clock::now()) / 1000, done);
          std::fflush(stdout);
        }
        last_done = done;
        if (done < static_cast<std::size_t>(n)) return false;
        const auto asked = Clock::now();
        auto d = status(sb.socket_path(), {}, 60s);
        if (!d) return false;
        status_ms.push_back(ms_between(asked, Clock::now()));
        doc = *d;
        std::size_t running = 0;
        for (const auto& b : doc["bottles"]) running += running_verified(b) ? 1 : 0;
        return running == static_cast<std::size_t>(n) && all_settled(doc, static_cast<std::size_t>(n));
      },
      converge_budget, 100ms);
  const double converge_ms = ms_between(t0, Clock::now());
  // The precise end: the last bottle's "verified" event (the daemon's own clock, ms).
  std::optional<double> last_verified_ms;
  if (auto times = latest_event_ms(sb.state_db(), "verified"); times && !times->empty()) {
    std::int64_t last = 0;
    for (const auto& [_, ms] : *times) last = std::max(last, ms);
    last_verified_ms = static_cast<double>(last - t0_wall);
  }
  const auto cpu_converged = cpu_ns(daemon);
  if (!converged) {
    std::printf("  NOT converged after %.1f s: %zu of %d verified\n", converge_ms / 1000, last_done, n);
  }

  // 2. No-op resync passes.
  std::vector<double> pass_ms, round_trip_ms;
  int not_noop = 0;
  for (int i = 0; i < resyncs && converged && !interrupted(); ++i) {
    const std::string before = activity(doc);
    const auto asked = Clock::now();
    auto d = reconcile(sb.socket_path(), 120s);
    if (!d) {
      std::fprintf(stderr, "reconcile: %s\n", d.error().c_str());
      break;
    }
    round_trip_ms.push_back(ms_between(asked, Clock::now()));
    pass_ms.push_back((*d)["supervisor"]["last_pass_ms"].get<double>());
    if (activity(*d) != before) ++not_noop;
    doc = *d;
  }
  const auto hwm_after_load = status_field(daemon, "VmHWM");

  // 3. Idle: nothing changes for the window; count the daemon's loop wake-ups (its own count,
  // by cause) and its context switches. Two status requests back to back first: what one
  // request costs in wake-ups, to take off the window's (which holds the end of the first
  // and the start of the last request).
  std::optional<Wakeups> w_before, w_after;
  std::uint64_t per_request = 0;
  if (auto a = status(sb.socket_path(), {"b-0000"}, 60s)) {
    if (auto b = status(sb.socket_path(), {"b-0000"}, 60s)) {
      per_request = wakeups_of(*b).loop - wakeups_of(*a).loop;
      w_before = wakeups_of(*b);
    }
  }
  auto cs_before = context_switches(daemon);
  auto cpu_before = cpu_ns(daemon);
  const auto idle_start = Clock::now();
  // Only meaningful once everything converged: before that the daemon is still working.
  while (converged && Clock::now() - idle_start < idle_window && !interrupted()) {
    std::this_thread::sleep_for(100ms);  // the measurement window itself, not a synchronisation
  }
  const double idle_s = ms_between(idle_start, Clock::now()) / 1000;
  auto cs_after = context_switches(daemon);
  auto cpu_after = cpu_ns(daemon);
  if (auto d = status(sb.socket_path(), {"b-0000"}, 60s)) w_after = wakeups_of(*d);
  auto idle_doc = status(sb.socket_path(), {}, 60s);

  // 4. Memory.
  const auto hwm = status_field(daemon, "VmHWM");
  const auto rss = status_field(daemon, "VmRSS");
  std::uint64_t vm_private_kb = 0;
  std::size_t vms = 0;
  if (idle_doc) {
    for (const auto& b : (*idle_doc)["bottles"]) {
      if (!b["pid"].is_number_integer()) continue;
      if (auto kb = private_kb(b["pid"].get<int>())) {
        vm_private_kb += *kb;
        ++vms;
      }
    }
  }

  print_table("scale: " + std::to_string(n) + " bottles",
              {{"full no-op resync pass (last_pass_ms)", summarize(pass_ms)},
               {"  `reconcile` round trip (pass + status doc)", summarize(round_trip_ms)},
               {"`status` round trip (all bottles, once converged)", summarize(status_ms)}});
  print_value("writing all specs", write_ms, "ms");
  if (converged && last_verified_ms) print_value("all specs written -> last bottle verified", *last_verified_ms / 1000, "s");
  print_value("all specs written -> status confirms all converged", converge_ms / 1000,
              converged ? "s" : "s (NOT converged)");
  if (converged) print_value("  converged bottles per second", n / (converge_ms / 1000), "/s");
  if (cpu_at_start && cpu_converged) {
    print_value("  daemon CPU time until then", static_cast<double>(*cpu_converged - *cpu_at_start) / 1e9, "s");
  }
  if (not_noop > 0) print_value("passes that were NOT no-ops (counters moved)", not_noop, "");
  if (hwm_after_load) print_value("daemon peak RSS after load (VmHWM)", static_cast<double>(*hwm_after_load) / 1024, "MiB");
  if (hwm) print_value("daemon peak RSS at the end (VmHWM)", static_cast<double>(*hwm) / 1024, "MiB");
  if (rss) print_value("daemon RSS at the end (VmRSS)", static_cast<double>(*rss) / 1024, "MiB");
  if (!converged) print_note("idle window skipped: not converged");
  if (converged && cs_before && cs_after) {
    const double per_min = static_cast<double>(cs_after->total() - cs_before->total()) * 60 / idle_s;
    print_value("idle window", idle_s, "s");
    print_value("idle context switches (vol + invol)", static_cast<double>(cs_after->total() - cs_before->total()), "");
    print_value("  voluntary", static_cast<double>(cs_after->voluntary - cs_before->voluntary), "");
    print_value("  per minute", per_min, "/min");
  }
  if (converged && w_before && w_after) {
    const auto loop = w_after->loop - w_before->loop;
    const auto timers = (w_after->resync - w_before->resync) + (w_after->watchdog - w_before->watchdog);
    print_value("idle loop wake-ups (the daemon's count)", static_cast<double>(loop), "");
    print_value("  of them: resync timer", static_cast<double>(w_after->resync - w_before->resync), "");
    print_value("  of them: watchdog timer", static_cast<double>(w_after->watchdog - w_before->watchdog), "");
    print_value("  of them: the measuring status requests", static_cast<double>(per_request), "");
    print_value("  of them: anything else (target 0)",
                static_cast<double>(loop) - static_cast<double>(timers) - static_cast<double>(per_request), "");
  }
  if (converged && cpu_before && cpu_after) {
    print_value("idle CPU time", static_cast<double>(*cpu_after - *cpu_before) / 1e6, "ms");
  }
  if (auto threads = status_field(daemon, "Threads")) print_value("daemon threads", static_cast<double>(*threads), "");
  print_value("sim VMs measured", static_cast<double>(vms), "");
  print_value("sim VMs' private memory, total", static_cast<double>(vm_private_kb) / 1024, "MiB");
  if (vms > 0) print_value("  per VM", static_cast<double>(vm_private_kb) / static_cast<double>(vms), "KiB");
  print_note("Targets: no-op resync of 1,000 bottles <= 20 ms; peak RSS <= 32 MiB; idle wake-ups");
  print_note("only from the resync (30 s +-10 %) and watchdog (WATCHDOG_USEC=20 s: a ping every 10 s) timers.");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what =
      "bottle-supervisor with 1,000 bottles: convergence, resync cost, memory, idle wake-ups.";
  return bs::bench::bench_main(argc, argv, what, run);
}
