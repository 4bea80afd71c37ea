// Boot-to-kill latency: how long a VM that boots unconfined lives when someone starts a managed
// machine out of band, counted from the VM's spawn, not from smolvm's row. smolvm 1.32.2 commits
// a started VM's pid to its row only after the guest agent answered (300-1000 ms for a real VM),
// but writes agent.config.json (the policy the VMM got) and agent.pid right after the spawn; the
// daemon watches managed machines' data dirs and judges such a VM at once.
//
// Set-up: a temporary HOME, the real daemon and smolvm-sim (resync 1 h: only the event paths
// act), two bottles: run-1 (running) and boot-1 (state = "stopped", so nothing restarts it). Each
// event starts boot-1's machine out of band with SMOLVM_SIM_FORCE_POLICY=null (it boots with any
// egress allowed) and SMOLVM_SIM_READY_MS=300 (the agent answers, and the row is committed, 300 ms
// after the spawn; BS_BENCH_READY_MS changes it). t0 = the VM process's own timestamp right after the fork (SMOLVM_SIM_SPAWN_LOG, our FIFO);
// t1 = its death through a pidfd (SpawnWatch: one thread blocked in poll()). Killed before the
// row commit = the start failed ("boot process was killed by SIGKILL") and the row never named
// the pid. Then the same starts against the row-only reference: a 1 s poller, the daemon stopped.
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "bench/common/commit_watch.h"
#include "bench/common/control.h"
#include "bench/common/kill_scene.h"
#include "bench/common/reference_poller.h"
#include "bench/common/run_control.h"
#include "bench/common/sandbox.h"
#include "bench/common/samples.h"
#include "bench/common/spawn_watch.h"
#include "bench/common/wait.h"
#include "platform/pidfd.h"
#include "smolvm/vm_table.h"
#include "support/files.h"

namespace {

using namespace bs::bench;
using namespace std::chrono_literals;

const std::string kBottle = "boot-1";
const std::string kMachine = "bottle-boot-1";
// How long the agent takes to answer (SMOLVM_SIM_READY_MS): 300 ms by default; BS_BENCH_READY_MS
// sets it (a real VM takes 300-1000 ms).
int ready_ms() {
  const char* v = std::getenv("BS_BENCH_READY_MS");
  return v != nullptr && *v != '\0' ? std::atoi(v) : 300;
}
const int kReadyMs = ready_ms();

struct StartResult {
  std::optional<VmLife> life;
  int exit_code = -1;              // of `smolvm machine start`
  bool row_named_pid = false;      // the row was committed with the VM's pid
  std::optional<Clock::time_point> committed;  // the row commit, when the caller watched for it
  std::string error;
};

// Blocks (no polling: this thread must not steal the CPU from the daemon or smolvm while the VM
// is being judged) until our child `pid` exits; its exit code, or -1 after `timeout`.
int wait_exit_code(pid_t pid, std::chrono::milliseconds timeout) {
  auto fd = bs::platform::PidFd::open(pid);
  if (fd) {
    pollfd p{fd->fd(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return -1;
  }
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &st, 0);
  } while (r < 0 && errno == EINTR);
  if (r != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::optional<std::int64_t> row_pid(const bs::smolvm::Paths& paths) {
  auto table = bs::smolvm::VmTable::open(paths.db);
  if (!table) return std::nullopt;
  auto rows = table->read_all();
  if (!rows) return std::nullopt;
  for (const auto& r : *rows) {
    if (r.name == kMachine) return r.record.pid;
  }
  return std::nullopt;
}

// One out-of-band unconfined start of boot-1's machine, followed from spawn to death.
StartResult unconfined_start(Sandbox& sb, SpawnWatch& spawns, CommitWatch* commits,
                             std::optional<std::int64_t> previous_pid) {
  StartResult res;
  if (commits != nullptr) commits->arm(previous_pid);
  const std::string err_log = sb.home() + "/oob-start.err";
  ::truncate(err_log.c_str(), 0);
  auto child = sb.spawn({"smolvm", "machine", "start", "--name", kMachine},
                        {"SMOLVM_SIM_FORCE_POLICY=null", "SMOLVM_SIM_READY_MS=" + std::to_string(kReadyMs),
                         "SMOLVM_SIM_SPAWN_LOG=" + spawns.path()},
                        false, err_log);
  if (!child) {
    res.error = child.error();
    return res;
  }
  res.exit_code = wait_exit_code(child->pid, 40s);
  // The VM's death: at once when the start failed; up to a poller's period after it succeeded.
  res.life = spawns.next(10s);
  if (!res.life) {
    res.error = "no VM spawn was logged (start exit " + std::to_string(res.exit_code) + ": " + bs::test::read_file(err_log) + ")";
    return res;
  }
  if (commits != nullptr && res.exit_code == 0) {
    if (auto c = commits->wait(5s); c && c->pid == res.life->pid) res.committed = c->at;
  }
  auto named = row_pid(sb.smolvm());
  res.row_named_pid = named && *named == res.life->pid;
  if (!res.life->died) res.error = res.life->error;
  return res;
}

double load1() {
  double l = 0;
  std::ifstream("/proc/loadavg") >> l;
  return l;
}

int run(const Options& opt) {
  const int events = opt.quick ? 20 : 200;
  const int baseline_events = opt.quick ? 5 : 100;

  auto scene = start_kill_scene(opt, "log_level = \"warn\"\nresync_interval = \"1h\"\n", kBottle);
  if (!scene) return 1;
  Sandbox& sb = *scene->sandbox;
  nlohmann::json& doc = scene->status;
  const auto& desired = scene->desired;
  auto spawns = SpawnWatch::start(sb.home() + "/vm-spawns.fifo", 60s);
  if (!spawns) {
    std::fprintf(stderr, "error: %s\n", spawns.error().c_str());
    return 1;
  }
  auto commits = CommitWatch::start(sb.smolvm(), kMachine);
  if (!commits) {
    std::fprintf(stderr, "error: %s\n", commits.error().c_str());
    return 1;
  }
  // Only SpawnWatch's thread takes timestamps (at real-time priority); this one stays at normal
  // priority, or its wake-ups would preempt the daemon and smolvm in the middle of the measurement.
  const double load_before = load1();
  std::printf("boot-to-kill: %d out-of-band unconfined starts (agent ready after %d ms) against bottle-supervisor, "
              "%d against a 1 s poller%s\n",
              events, kReadyMs, baseline_events, opt.quick ? " (--quick)" : "");
  std::fflush(stdout);

  // Against the daemon. The first start is a warm-up (cold page cache, first data-dir watch).
  std::vector<double> daemon_ms, named_ms, after_named_ms;
  int before_commit = 0, failures = 0;
  std::optional<std::int64_t> last_pid;
  std::uint64_t kills_before = doc["supervisor"]["counters"]["drift_kills"].get<std::uint64_t>();
  const auto budget = Clock::now() + (opt.quick ? 30s : 180s);
  int counted = 0;
  for (int i = 0; i <= events && !interrupted(); ++i) {
    if (Clock::now() > budget) {
      std::fprintf(stderr, "time budget spent after %d starts against the daemon\n", i);
      break;
    }
    StartResult r = unconfined_start(sb, **spawns, nullptr, last_pid);
    if (r.life) last_pid = r.life->pid;
    if (!r.life || !r.life->died) {
      ++failures;
      std::fprintf(stderr, "start %d: %s\n", i, r.error.c_str());
      if (!r.life) break;
    } else if (i > 0) {
      const double ms = ms_between(r.life->spawned, *r.life->died);
      daemon_ms.push_back(ms);
      if (r.life->named) {
        named_ms.push_back(ms_between(r.life->spawned, *r.life->named));
        after_named_ms.push_back(ms_between(*r.life->named, *r.life->died));
      }
      ++counted;
      const bool early = r.exit_code == 1 && !r.row_named_pid;
      if (early) ++before_commit;
      if (opt.verbose || !early) {
        std::printf("  supervisor start %d: pid %lld lived %.3f ms, start exit %d, row %s\n", i,
                    static_cast<long long>(r.life->pid), ms, r.exit_code, r.row_named_pid ? "named it" : "never named it");
      }
    }
    if (i == 0) {
      // The machine's data dir exists since this first start: time agent.pid's writes from now on.
      if (auto err = (*spawns)->watch_agent_pid(sb.smolvm().vm_data_dir(kMachine))) {
        std::fprintf(stderr, "warning: %s (no split of the latency)\n", err->c_str());
      }
    }
    const std::uint64_t want = kills_before + static_cast<std::uint64_t>(i) + 1;
    bool calm = wait_kill_recorded(sb, kBottle, want);
    if (!calm) {
      std::fprintf(stderr, "start %d: the daemon did not record the drift kill / settle within 60 s\n", i);
      ++failures;
    }
  }
  const double load_after = load1();
  auto final_doc = status(sb.socket_path());
  if (auto err = sb.stop_daemon()) std::fprintf(stderr, "warning: %s\n", err->c_str());

  // Against the row-only reference, the daemon stopped: the row names the VM only after its agent
  // answered, so no row watcher can kill it earlier than that commit.
  spawns->get()->clear();
  std::vector<double> poller_ms, commit_ms;
  int poller_before_commit = 0;
  ReferencePoller poller(sb.smolvm(), desired, 1000ms);
  poller.start();
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> phase_ms(0, 999);
  for (int i = 0; i < baseline_events && !interrupted(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(phase_ms(rng)));
    StartResult r = unconfined_start(sb, **spawns, commits->get(), last_pid);
    if (r.life) last_pid = r.life->pid;
    if (!r.life || !r.life->died) {
      ++failures;
      std::fprintf(stderr, "baseline start %d: %s\n", i, r.error.c_str());
      if (!r.life) break;
      continue;
    }
    poller_ms.push_back(ms_between(r.life->spawned, *r.life->died));
    if (r.exit_code == 1 && !r.row_named_pid) ++poller_before_commit;
    if (r.committed) commit_ms.push_back(ms_between(r.life->spawned, *r.committed));
    if (opt.verbose) std::printf("  poller start %d: %.3f ms\n", i, poller_ms.back());
  }
  poller.stop();

  const Summary d = summarize(daemon_ms), p = summarize(poller_ms), c = summarize(commit_ms);
  print_table("boot-to-kill latency: VM spawned -> VM gone (ms)",
              {{"bottle-supervisor (data-dir watch: agent.pid + agent.config.json)", d},
               {"  of which smolvm: spawn -> agent.pid written", summarize(named_ms)},
               {"  of which supervisor: agent.pid written -> VM gone", summarize(after_named_ms)},
               {"reference watchdog polling the row every 1 s", p},
               {"  row-only floor: spawn -> row commit (agent ready)", c},
               {"  reference watchdog: one check of all rows", summarize(poller.check_ms())}});
  if (counted > 0) print_value("supervisor: killed before the row commit", 100.0 * before_commit / counted, "%");
  if (!poller_ms.empty()) {
    print_value("poller: killed before the row commit", 100.0 * poller_before_commit / static_cast<double>(poller_ms.size()), "%");
  }
  if (d.n > 0 && p.n > 0 && d.median > 0 && d.p99 > 0) {
    print_value("poller median / supervisor median", p.median / d.median, "x");
    print_value("row-only floor median / supervisor median", c.median / d.median, "x");
  }
  if (final_doc) {
    print_value("daemon drift_kills counter", (*final_doc)["supervisor"]["counters"]["drift_kills"].get<double>(), "");
  }
  print_value("poller kills", static_cast<double>(poller.kills()), "");
  print_value("failed starts", failures, "");
  char load[128];
  std::snprintf(load, sizeof load, "load average (1 min): %.2f before the daemon's starts, %.2f after", load_before,
                load_after);
  print_note(load);
  print_note("t0 = the VM process right after its fork, before its exec (SMOLVM_SIM_SPAWN_LOG, CLOCK_MONOTONIC);");
  print_note("t1 = its death via pidfd. Target: supervisor p99 <= 10 ms, 100 % killed before the row commit.");
  print_clock_priority_note();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* what =
      "Boot-to-kill latency: an out-of-band unconfined start of a managed machine, from the "
      "VM's spawn to its death, against a 1 s row poller.";
  return bs::bench::bench_main(argc, argv, what, run);
}
