// A throw-away HOME in which the real binaries run with nothing but environment variables:
// HOME, XDG_RUNTIME_DIR=<home>/run (0700), PATH=<home>/bin:/usr/bin:/bin with <home>/bin/smolvm
// a symlink to the built smolvm-sim. Timing knobs go in the config file, specs in the bottles
// folder, exactly where a user would put them.
//
// Cleanup (destructor, also when a test fails): daemons still registered are stopped; every VM
// named by a row of the temp smolvm DB that is alive with the recorded start time is SIGKILLed
// and reaped; so is every `_boot-vm` whose command line names a path under this HOME; then the
// folder is removed.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"
#include "smolvm/paths.h"
#include "support/smolvm_rows.h"
#include "support/temp_dir.h"

namespace bs::integ {

using Json = nlohmann::json;

// The temp HOME's smolvm DB, read and written the way another smolvm process would.
using test::read_row;
using test::read_rows;
using test::set_allowed_cidrs;
using test::StoredRow;
using test::update_row;
using test::write_row_text;

inline const std::string kSupervisorBin = BS_BUILD_DIR "/bottle-supervisor";
inline const std::string kSimBin = BS_BUILD_DIR "/smolvm-sim";

// The fast timings every test uses unless it says otherwise (all are config-file keys). The
// periodic resync is the floor under lost events, so no test may lean on it by accident: it is
// longer than any wait, and a test of the resync itself sets its own.
struct ConfigOptions {
  std::string log_level = "debug";
  std::string removal_grace = "300ms";
  std::string resync_interval = "1h";
  std::string debounce = "20ms";
  std::string command_timeout = "10s";
  std::string backoff_initial = "200ms";
  std::string extra_top;  // more top-level lines
};
std::string config_toml(const ConfigOptions& o);

// A spec with the given extra lines: `image = "alpine:3.20"` plus `extra`.
std::string spec_toml(const std::string& extra = "");

struct Status {
  int exit_code = -1;
  Json doc;         // null unless stdout parsed as JSON
  std::string raw;  // the whole run, for messages
  // The bottle's object, or null.
  Json bottle(const std::string& name) const;
};

// `status --json`'s answer: its exit code and its document.
Status status_from(const RunResult& r);

class Daemon;

class TempHome {
 public:
  explicit TempHome(const ConfigOptions& config = {});
  ~TempHome();
  TempHome(const TempHome&) = delete;
  TempHome& operator=(const TempHome&) = delete;

  const std::string& dir() const { return dir_.path(); }
  // The environment of every process we start here, plus `extra` (sim knobs, NOTIFY_SOCKET...).
  Env env(const Env& extra = {}) const;

  std::string bottles_dir() const;
  std::string config_path() const;
  std::string state_dir() const;
  std::string socket_path() const;
  smolvm::Paths smolvm_paths() const;
  std::string db_path() const { return smolvm_paths().db; }

  void write_config(const ConfigOptions& o) const;
  void write_config_text(const std::string& toml) const;
  // Written under a dot-name (ignored by the supervisor) and renamed into place with mode 0600,
  // so the daemon never sees a half-written spec.
  std::string write_spec(const std::string& name, const std::string& toml) const;
  std::string spec_path(const std::string& name) const;
  void remove_spec(const std::string& name) const;
  std::string make_smolmachine(const std::string& name) const;  // a dummy artifact; its path

  // bottle-supervisor <args> / smolvm <args> with this HOME's environment.
  RunResult cli(const std::vector<std::string>& args, const Env& extra = {}, Ms timeout = Ms(30000)) const;
  RunResult sim(const std::vector<std::string>& args, const Env& extra = {}, Ms timeout = Ms(30000)) const;
  Status status(const std::vector<std::string>& names = {}) const;
  std::vector<Json> events() const;  // `events --json`, one object per line
  std::vector<Json> events(const std::string& kind, const std::string& bottle = "") const;

  std::optional<StoredRow> row(const std::string& machine) const;
  // The policy the VM `pid` booted with, as smolvm records it: resources.allowed_cidrs of
  // agent.config.json in the data dir its command line names, while agent.pid names `pid`;
  // nullopt when it cannot be read.
  std::optional<Json> booted_policy(std::int64_t pid) const;
  // A boot-config.json (unrestricted) in `machine`'s data dir, as for a `_boot-vm` started by
  // hand: the simulator's VM stand-in reads it (and deletes it, as smolvm's does) before it runs.
  std::string write_rogue_boot_config(const std::string& machine) const;

  // Fails the test with `what`, the last status document and the daemon log's tail, unless
  // `pred` holds within `timeout`.
  void wait_until(const std::string& what, const std::function<bool()>& pred, Ms timeout = Ms(30000)) const;
  // Waits for the bottle to be running with confinement verified and converged; returns it.
  Json wait_verified(const std::string& bottle, Ms timeout = Ms(30000)) const;
  std::string diagnostics() const;

  // SIGKILLs smolvm-sim commands (not VMs) left to us by a stopped daemon: our children whose
  // executable is the sim and whose environment has this HOME (e.g. a create hung on purpose).
  void kill_orphaned_sim_commands() const;

  // Daemons register themselves so a failing test still stops them before the VMs are killed.
  void attach(Daemon* d) { daemons_.insert(d); }
  void detach(Daemon* d) { daemons_.erase(d); }
  std::string next_log_path(const std::string& stem);
  std::string current_daemon_log() const { return daemon_log_; }
  void set_daemon_log(const std::string& path) { daemon_log_ = path; }

 private:
  test::TempDir dir_;
  std::set<Daemon*> daemons_;
  std::string daemon_log_;
  int log_counter_ = 0;
};

// Running and verified: status reports it and there is a pid.
bool verified_running(const Json& bottle);

}  // namespace bs::integ
