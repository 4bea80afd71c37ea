// What the fault-injection tests need beyond the harness: the VMs that actually run under a temp
// HOME and the policy each booted with, the supervisor's own state DB as a reader sees it, a
// process holding smolvm's DB locked, raw row surgery, and a `smolvm` wrapper on PATH.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"
#include "store/state_store.h"
#include "support/forked_child.h"

namespace bs::integ {

// A live `_boot-vm` whose boot-config.json lies under the temp HOME.
struct BootVm {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
  std::string boot_config;       // the path on its command line
  std::string machine;           // its data dir's `name` file ("" when unreadable)
  std::optional<Json> policy;    // resources.allowed_cidrs as booted; nullopt when unreadable
};
std::vector<BootVm> boot_vms(const TempHome& home);

// The supervisor's state DB, read while the daemon may be running or dead.
struct StateSnapshot {
  std::vector<store::Lease> leases;
  std::vector<store::ManagedMachine> machines;
  std::vector<store::Event> events;  // oldest first
};
StateSnapshot read_state(const TempHome& home);
// Each bottle's leased address; CHECKs on the way that no bottle holds two leases and that no
// address is leased twice.
std::map<std::string, std::string> lease_of_each_bottle(const StateSnapshot& state);
std::string state_db_path(const TempHome& home);

// PRAGMA integrity_check on a database file: "ok" when sound, else SQLite's findings.
std::string integrity_check(const std::string& db_path);

// A child process that opens smolvm's DB, takes BEGIN EXCLUSIVE (and writes, so the WAL write
// lock is really held) and keeps it until release() or destruction, at most `max_hold`.
class DbLockHolder {
 public:
  DbLockHolder(const std::string& db_path, Ms max_hold);
  ~DbLockHolder();
  DbLockHolder(const DbLockHolder&) = delete;
  DbLockHolder& operator=(const DbLockHolder&) = delete;
  pid_t pid() const { return child_->pid(); }
  // Rolls back, closes and waits for the child; returns its exit code (0 = held and released).
  int release();

 private:
  std::optional<test::ForkedChild> child_;
  std::optional<int> exit_code_;
};

// Row surgery as a careless tool would do it, each in its own short transaction.
using test::delete_row;
using test::write_row_blob;

// Replaces <home>/bin/smolvm with a shell script that execs smolvm-sim, adding `knobs` to the
// environment of commands with an argument that matches `machine`, a shell pattern ("bottle-hung"
// for one machine, "bottle-slow*" for several). Empty knobs: a plain pass-through. With a
// `command_log`, every command first appends its arguments to that file, one command a line.
void install_smolvm_wrapper(const TempHome& home, const std::string& machine, const Env& knobs,
                            const std::string& command_log = "");

// Every named bottle running (or stopped, as its spec says), verified and converged.
bool all_converged(const Status& st, const std::vector<std::string>& bottles);

// The live (non-zombie) direct children of `parent` whose command line contains `needle`.
std::vector<std::int64_t> children_with(std::int64_t parent, const std::string& needle);

}  // namespace bs::integ
