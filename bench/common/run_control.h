// Process-wide set-up of a benchmark run: the command line, child-subreaper status (PID 1 here
// does not reap orphans, and the VMs smolvm detaches must come back to us to be reaped), and a
// Ctrl-C that stops the measurement but still lets the sandbox clean up.
#pragma once

#include <string>

namespace bs::bench {

struct Options {
  bool quick = false;     // fewer samples: a smoke run
  bool keep = false;      // keep the temporary HOME (and the daemon's log) for a post-mortem
  bool verbose = false;   // print every sample as it is taken
  std::string bin_dir;    // where bottle-supervisor and smolvm-sim are; default: next to us
};

// Parses --quick, --keep, --bin-dir DIR, --help. Prints usage and exits on --help or an error.
Options parse_options(int argc, char** argv, const std::string& what);

// Makes this process a child subreaper and installs the SIGINT/SIGTERM flag. Call first.
// Returns false when it cannot become a subreaper (then it is not safe to run).
bool init_run();

// A benchmark's main(): parses the options (`what` is its --help line), init_run(), then `run`.
// Exits 1 without running when this process cannot become a subreaper.
int bench_main(int argc, char** argv, const std::string& what, int (*run)(const Options&));

// Puts the calling thread at SCHED_FIFO priority 1 when allowed, so a thread that takes
// timestamps wakes up as soon as its event happens instead of waiting for a CPU on a busy
// machine. Returns false (and changes nothing) when not permitted.
bool raise_clock_priority();
bool clock_priority_raised();  // whether any call succeeded
// Back to SCHED_OTHER for a thread that must not be favoured (it inherited a raised priority).
void normal_priority();

// True once SIGINT or SIGTERM arrived.
bool interrupted();

}  // namespace bs::bench
