// Spec-to-verified latency: from writing a bottle spec to `status` showing it running with its
// confinement verified, and how much of that is the supervisor's own work rather than the time
// it waited on smolvm (status: supervisor.smolvm_command_ms, the total time its smolvm commands
// took).
//
// One at a time: each spec is written (atomically), then we wait for the daemon to report it
// done; the status request is sent each time the daemon writes its state DB (it records every
// step there), with a 20 ms fallback poll. overhead = latency - the smolvm time of that spec.
// All at once: N specs written together; per-bottle times come from the daemon's audit log
// (its last "verified" event), and its CPU time per spec shows its own cost.
//
// debounce = "0ms" so the spec folder is rescanned on the first event: the default 50 ms
// coalescing is a deliberate wait, not work, and would only add a constant.
#include <cstdio>

#include "bench/common/control.h"
#include "bench/common/dir_watch.h"
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
    "debounce = \"0ms\"\n"
    "[loopback]\n"
    "pool = \"127.0.0.0/16\"\n";

const char* kSpec = "image = \"alpine:3.20\"\n";

std::string name_of(const char* prefix, int i) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%03d", prefix, i);
  return buf;
}

double command_ms(const nlohmann::json& doc) { return doc["supervisor"]["smolvm_command_ms"].get<double>(); }

struct OneResult {
  std::vector<double> latency, smolvm, overhead, cpu;
  int failures = 0;
};

OneResult one_at_a_time(Sandbox& sb, DirWatch& state_writes, int n, bool verbose) {
  OneResult r;
  auto first = status(sb.socket_path());
  if (!first) {
    ++r.failures;
    return r;
  }
  double cmd_before = command_ms(*first);
  for (int i = 0; i < n && !interrupted(); ++i) {
    const std::string name = name_of("one", i);
    const auto cpu_before = cpu_ns(sb.daemon_pid());
    state_writes.wait(0ms);  // forget writes that happened before this spec
    const auto t0 = Clock::now();
    if (auto err = sb.write_spec(name, kSpec)) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      ++r.failures;
      break;
    }
    std::optional<Clock::time_point> t1;
    nlohmann::json done;
    const auto deadline = t0 + 60s;
    while (!t1 && Clock::now() < deadline && !interrupted()) {
      state_writes.wait(20ms);
      auto doc = status(sb.socket_path(), {name});
      if (!doc) continue;
      const auto* b = find_bottle(*doc, name);
      if (b && running_verified(*b)) {
        t1 = Clock::now();
        done = *doc;
      }
    }
    if (!t1) {
      std::fprintf(stderr, "spec %s: not running + verified within 60 s\n", name.c_str());
      ++r.failures;
      continue;
    }
    const auto cpu_after = cpu_ns(sb.daemon_pid());
    const double latency = ms_between(t0, *t1);
    const double cmd = command_ms(done) - cmd_before;
    cmd_before = command_ms(done);
    r.latency.push_back(latency);
    r.smolvm.push_back(cmd);
    r.overhead.push_back(latency - cmd);
    if (cpu_before && cpu_after) r.cpu.push_back(static_cast<double>(*cpu_after - *cpu_before) / 1e6);
    if (verbose) {
      std::printf("  %s: %.3f ms, smolvm %.0f ms, overhead %.3f ms\n", name.c_str(), latency, cmd, latency - cmd);
    }
  }
  return r;
}

struct BurstResult {
  double wall_ms = 0, smolvm_ms = 0, cpu_ms = 0;
  std::vector<double> per_bottle;
  bool converged = false;
};

BurstResult all_at_once(Sandbox& sb, int n) {
  BurstResult r;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(name_of("burst", i));
  auto before = status(sb.socket_path());
  if (!before) return r;
  const auto cpu_before = cpu_ns(sb.daemon_pid());
  const std::int64_t t0_wall = wall_ms();
  const auto t0 = Clock::now();
  for (const auto& name : names) {
    if (auto err = sb.write_spec(name, kSpec)) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      return r;
    }
  }
  // Progress from the audit log (free for the daemon); one status request confirms at the end.
  nlohmann::json last;
  r.converged = wait_until(
      [&] {
        auto verified = bottles_with_event(sb.state_db(), "verified", "pid ", t0_wall);
        if (!verified || *verified < names.size()) return false;
        auto doc = status(sb.socket_path(), names);
        if (!doc) return false;
        last = *doc;
        for (const auto& b : (*doc)["bottles"]) {
          if (!running_verified(b)) return false;
        }
        return (*doc)["bottles"].size() == names.size();
      },
      120s, 10ms);
  const auto t1 = Clock::now();
  const auto cpu_after = cpu_ns(sb.daemon_pid());
  r.wall_ms = ms_between(t0, t1);
  if (!last.is_null()) r.smolvm_ms = command_ms(last) - command_ms(*before);
  if (cpu_before && cpu_after) r.cpu_ms = static_cast<double>(*cpu_after - *cpu_before) / 1e6;
  if (auto verified = latest_event_ms(sb.state_db(), "verified")) {
    for (const auto& name : names) {
      if (auto it = verified->find(name); it != verified->end()) {
        r.per_bottle.push_back(static_cast<double>(it->second - t0_wall));
      }
    }
  }
  return r;
}

int run(const Options& opt) {
  const int n_one = opt.quick ? 10 : 100;
  const int n_burst = opt.quick ? 20 : 100;

  auto sandbox = start_sandbox(opt, kConfig);
  if (!sandbox) return 1;
  Sandbox& sb = *sandbox;
  const std::string state_dir = sb.state_db().substr(0, sb.state_db().rfind('/'));
  auto state_writes = DirWatch::open(state_dir, {"state.db", "state.db-wal"});
  if (!state_writes) {
    std::fprintf(stderr, "error: %s\n", state_writes.error().c_str());
    return 1;
  }
  std::printf("spec-to-verified: %d specs one at a time, then %d at once%s\n", n_one, n_burst,
              opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  OneResult one = one_at_a_time(sb, **state_writes, n_one, opt.verbose);
  BurstResult burst = all_at_once(sb, n_burst);

  print_table("spec-to-verified, one spec at a time (ms per spec)",
              {{"spec written -> status: running + verified", summarize(one.latency)},
               {"  of which smolvm commands (create + start)", summarize(one.smolvm)},
               {"  supervisor's own share (latency - smolvm)", summarize(one.overhead)},
               {"  daemon CPU time", summarize(one.cpu)}});
  print_value("failed specs", one.failures, "");
  print_note("smolvm time: the daemon's own clock around each command (supervisor.smolvm_command_ms, in");
  print_note("microseconds), from spawning the sim to reaping it; the own share is the rest.");

  print_table("spec-to-verified, " + std::to_string(n_burst) + " specs written at once (ms)",
              {{"per bottle: written -> its last 'verified' event", summarize(burst.per_bottle)}});
  print_value("all written -> all running + verified", burst.wall_ms, "ms");
  print_value("smolvm command time, summed (8 run at once)", burst.smolvm_ms, "ms");
  print_value("daemon CPU time, total", burst.cpu_ms, "ms");
  if (n_burst > 0) print_value("daemon CPU time per spec", burst.cpu_ms / n_burst, "ms");
  if (!burst.converged) print_note("NOT all converged within 120 s");
  print_note("Target: the supervisor's own share <= 5 ms per spec.");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what =
      "Spec-to-verified latency of bottle-supervisor, and its own share of it.";
  return bs::bench::bench_main(argc, argv, what, run);
}
