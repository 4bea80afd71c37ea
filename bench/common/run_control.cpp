#include "bench/common/run_control.h"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace bs::bench {
namespace {

volatile sig_atomic_t g_interrupted = 0;
std::atomic<bool> g_realtime{false};

void on_signal(int) { g_interrupted = 1; }

[[noreturn]] void usage(const char* argv0, const std::string& what, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--quick] [--keep] [--verbose] [--bin-dir DIR]\n\n%s\n\n"
               "  --quick        fewer samples (a smoke run)\n"
               "  --keep         keep the temporary HOME and the daemon's log\n"
               "  --verbose      print every sample as it is taken\n"
               "  --bin-dir DIR  where bottle-supervisor and smolvm-sim are (default: next to this program)\n",
               argv0, what.c_str());
  std::exit(code);
}

}  // namespace

Options parse_options(int argc, char** argv, const std::string& what) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--verbose" || a == "-v") {
      o.verbose = true;
    } else if (a == "--bin-dir" && i + 1 < argc) {
      o.bin_dir = argv[++i];
    } else if (a == "--help" || a == "-h") {
      usage(argv[0], what, 0);
    } else {
      std::fprintf(stderr, "error: unknown argument '%s'\n", a.c_str());
      usage(argv[0], what, 2);
    }
  }
  if (o.bin_dir.empty()) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    o.bin_dir = ec ? "." : self.parent_path().string();
  }
  return o;
}

bool init_run() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

int bench_main(int argc, char** argv, const std::string& what, int (*run)(const Options&)) {
  Options opt = parse_options(argc, argv, what);
  if (!init_run()) {
    std::fprintf(stderr, "error: cannot become a child subreaper (prctl PR_SET_CHILD_SUBREAPER)\n");
    return 1;
  }
  return run(opt);
}

bool interrupted() { return g_interrupted != 0; }

bool raise_clock_priority() {
  sched_param p{};
  p.sched_priority = 1;
  // 0 = the calling thread. RESET_ON_FORK: the processes we start (smolvm-sim, its VM) must run
  // at normal priority like everything else being measured.
  if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p) != 0) return false;
  g_realtime = true;
  return true;
}

void normal_priority() {
  sched_param p{};
  p.sched_priority = 0;
  sched_setscheduler(0, SCHED_OTHER, &p);
}

bool clock_priority_raised() { return g_realtime; }

}  // namespace bs::bench
