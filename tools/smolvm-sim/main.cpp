// smolvm-sim: a stand-in for smolvm 1.32.2's CLI (checked against the real binary), faithful where a supervisor can observe it: the
// state DB (schema, WAL, BLOB records in serde key order), the messages and exit codes, the
// detached `_boot-vm` process and its /proc identity, and the stale-copy write-back of
// `machine stop`. See README.md next to this file and reference/smolvm-contract.md.
//
// Test knobs (environment variables; each affects only the sim process it is set for, and its VM):
//   SMOLVM_SIM_VERSION=<v>          `--version` prints "smolvm <v>" (default 1.32.2).
//   SMOLVM_SIM_DROP_FROM_CIDRS=1    smolvm < 1.8.0: `create --from` silently stores allowed_cidrs
//                                   null and network from --net only.
//   SMOLVM_SIM_FORCE_POLICY=<json>  `start` boots with this allowed_cidrs value (a JSON list or
//                                   null) instead of the row's; the row is not changed.
//   SMOLVM_SIM_FAIL_CREATE=<msg>    `create` fails: "Error: config operation failed: create machine:
//                                   <msg>", exit 1, nothing changed.
//   SMOLVM_SIM_FAIL_START=<msg>     `start` (of a machine not already running) fails: "Error: agent
//                                   operation failed: start machine: <msg>", exit 1, nothing changed.
//   SMOLVM_SIM_HANG_SECS=<n>        every `machine` subcommand sleeps n s first, before touching the DB.
//   SMOLVM_SIM_HANG_COMMANDS=a,b    ...only these subcommands (create,start,stop,delete,ls,status,data-dir,update).
//   SMOLVM_SIM_STOP_WINDOW_MS=<n>   `stop` sleeps n ms after killing the VM, between its snapshot read
//                                   and its stale write-back, so a test can race it.
//   SMOLVM_SIM_VM_EXIT_AFTER_MS=<n> the VM started by this `start` exits by itself (status 1) after n ms.
//   SMOLVM_SIM_CHECK_KVM=1          `start` checks /dev/kvm like smolvm (off by default).
//   SMOLVM_SIM_READY_MS=<n>         the VM "boots" n ms before its agent answers and `start` records
//                                   it running (default 100; a real VM takes ~300-1000 ms).
//   SMOLVM_SIM_SPAWN_LOG=<file>     the VM process appends "<pid> <CLOCK_MONOTONIC ns>" to <file> (or a
//                                   FIFO with a reader) right after the fork, before it execs.
// Paths follow smolvm: SMOLVM_DATA_DIR=<root> acts as HOME=<root> with XDG_* unset.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "platform/env.h"
#include "smolvm/paths.h"
#include "tools/smolvm-sim/boot_vm.h"
#include "tools/smolvm-sim/knobs.h"
#include "tools/smolvm-sim/machine_cli.h"

namespace {

constexpr const char* kUsage = "smolvm <COMMAND>";

void print_top_help(FILE* to) {
  std::fprintf(to,
               "smolvm-sim: a smolvm stand-in for tests\n\nUsage: %s\n\nCommands:\n"
               "  machine  Manage machines [aliases: vm]\n\n"
               "Options:\n  -h, --help     Print help\n  -V, --version  Print version\n",
               kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  // The VM stand-in is dispatched before anything else is set up: hundreds of them must stay cheap.
  if (argc >= 2 && std::strcmp(argv[1], "_boot-vm") == 0) return bs::sim::boot_vm_main(argc, argv);

  const auto env = bs::platform::process_env();
  const bs::sim::Knobs knobs = bs::sim::read_knobs(env);
  if (argc < 2) {
    print_top_help(stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--version" || cmd == "-V") {
    std::printf("smolvm %s\n", knobs.version.c_str());
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    print_top_help(stdout);
    return 0;
  }
  if (cmd == "machine" || cmd == "vm") {
    bs::sim::Machine machine{bs::smolvm::derive_paths(env), knobs, env};
    return bs::sim::run_machine(std::vector<std::string>(argv + 2, argv + argc), machine);
  }
  std::fprintf(stderr, "error: unrecognized subcommand '%s'\n\nUsage: %s\n\nFor more information, try '--help'.\n",
               cmd.c_str(), kUsage);
  return 2;
}
