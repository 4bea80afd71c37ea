// The daemon: one libuv loop that watches the spec folder and smolvm's DB, and reconciles each
// bottle through the work queue. Lifecycle and watches live in supervisor.cpp, the per-bottle
// plan/execute rounds in bottle_work.cpp, the actions in actions.cpp, status in status_document.cpp.
#pragma once

#include <uv.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "platform/identity.h"
#include "platform/process.h"
#include "reconcile/plan.h"
#include "smolvm/cli.h"
#include "smolvm/vm_table.h"
#include "store/state_store.h"
#include "supervisor/bottle.h"
#include "supervisor/bottle_round.h"
#include "supervisor/child_process.h"
#include "supervisor/command_slots.h"
#include "supervisor/daemon.h"
#include "supervisor/drift_hook.h"
#include "supervisor/guard_watch.h"
#include "supervisor/host.h"
#include "supervisor/observer.h"
#include "supervisor/records.h"
#include "supervisor/removal_grace.h"
#include "supervisor/row_watch.h"
#include "supervisor/settings.h"
#include "supervisor/spec_source.h"
#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"
#include "supervisor/vm_watch.h"
#include "supervisor/work_queue.h"

namespace bs::supervisor {

class ControlServer;
struct ControlRequest;

struct Counters {
  std::uint64_t patches = 0, drift_kills = 0, starts = 0, stops = 0, errors = 0;
};

// Why the loop woke up: every iteration, and those of them the periodic timers caused. With
// nothing changing, `loop` should grow only by `resync` + `watchdog` (and what a status request
// itself costs): anything else is a wake-up nobody asked for.
struct Wakeups {
  std::uint64_t loop = 0, resync = 0, watchdog = 0;
};

// What the daemon counts about itself, for `status` and sd_notify's STATUS= line.
struct DaemonStats {
  Counters counters;
  Wakeups wakeups;
  std::chrono::steady_clock::time_point started{};  // set by start()
  std::int64_t last_resync_ms = 0;
  // For benchmarks and status: how long the last full pass took, observation and all steps.
  std::optional<std::chrono::steady_clock::time_point> pass_started;
  std::chrono::steady_clock::duration last_resync_observe{}, last_pass_duration{};
};

class Supervisor final : private RoundWorld {
 public:
  Supervisor(uv_loop_t* loop, Settings settings, CommonFlags flags, RunMode mode,
             store::StateStore store);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Loads specs and the DB, kills what must die, arms the watches. Error: a startup failure.
  std::optional<std::string> start();
  int exit_code() const { return exit_code_; }

  // The §8 document, filtered to `names` when not empty.
  nlohmann::json status_document(const std::vector<std::string>& names);

 private:
  // supervisor.cpp: lifecycle, watches, rescans
  void on_rows_changed(const std::set<std::string>& machines);  // drift check + queue owners
  void on_rows_availability_changed();
  void schedule_resync();
  void full_resync();
  // spec_changes.cpp: what the spec folder's whole-set updates mean for each bottle
  void apply_specs(SpecScan scan);
  void mark_absent(const std::string& name, Bottle& b);  // its spec file is gone: the grace begins
  void hold_all();     // the spec folder cannot be read or trusted
  void resume_all();   // it can again
  void fast_drift_check(const std::set<std::string>& machines);

  // vm_dir_events.cpp: what the VM watch's reports mean (data dirs, boot windows, exits)
  void sync_vm_dirs();  // watch exactly the managed and guarded machines' data dirs
  void on_vm_dir_change(const std::string& machine);
  void on_boot_windows_ended(const std::set<std::string>& machines);  // strays among those VMs
  void on_vm_exited(const std::string& bottle, std::int64_t pid, std::optional<platform::ChildExit> how);
  // guard_watch.cpp: machines no spec manages ([[guard]] rules, unconfined VMs, lease conflicts)
  bool managed_by_spec(const std::string& machine) const;
  std::set<std::string> outside_rows() const;  // row names no spec manages
  void guard_check(const std::set<std::string>& machines);
  void judge_outside(const std::string& machine);
  void check_lease_conflicts();
  std::vector<LeaseConflict> lease_conflicts_of(const std::string& bottle) const;
  std::set<std::uint32_t> outside_held_addresses() const;  // pool addresses outside rows allow
  nlohmann::json guarded_document() const;
  // handoff.cpp: `adopt` and `release` through the control socket
  nlohmann::json adopt_machine(const std::string& bottle, const std::string& machine);
  nlohmann::json release_bottle(const std::string& bottle);
  std::optional<Ipv4> launcher_address(const Bottle& b) const;  // the pool /32 its machine's row allows
  void on_signal(int signum);
  void reload();
  void begin_shutdown();
  void maybe_finish_shutdown();
  void on_control_request(const ControlRequest& req, std::function<void(const nlohmann::json&)> reply);
  void check_pass_waiters();
  void update_notify_status();
  void ping_watchdog();
  void count_wakeups();
  void publish_notify_status();

  // bottle_work.cpp: a bottle's reconcile step, the daemon's side of it (RoundWorld)
  void process(const std::string& name);  // the work queue's turn for a bottle
  BottleInput observe(Bottle& b) override;
  void report_error(Bottle& b, const std::string& error) override;
  void step_ended(Bottle& b, bool failed) override;
  void step_abandoned(const std::string& name) override;
  BottleInput build_input(Bottle& b);
  Bottle& bottle(const std::string& name);
  std::optional<Allowlist> desired_of(const Bottle& b) const;
  std::vector<std::string> machines_of(const Bottle& b) const;
  std::optional<std::string> bottle_of_machine(const std::string& machine) const;
  bool converged(const Bottle& b) const;

  // actions.cpp
  Executed execute(Bottle& b, const Action& a) override;
  std::optional<std::string> acquire_lease(Bottle& b, const Action& a);
  std::optional<std::string> patch_row(Bottle& b, const Action& a, bool quarantine);
  std::optional<std::string> kill(Bottle& b, const Action& a);
  void run_smolvm(Bottle& b, const Action& a);
  void launch_command(Bottle& b, const Action& a);
  void on_smolvm_done(const std::string& name, Action a, CommandResult r);
  // After our create: does the row, as re-read, hold the allowlist the create was given?
  bool created_row_verified(const Action& create) const;
  std::optional<std::string> remember_machine(Bottle& b, const Action& a, std::optional<store::Origin> origin);
  std::optional<std::string> record_verified(Bottle& b, const Action& a);
  void event(const std::string& bottle, const std::string& machine, const std::string& kind,
             const std::string& detail);
  std::map<std::string, std::string> smolvm_env() const;

  uv_loop_t* loop_;
  LoopTime time_{loop_};
  Settings settings_;
  CommonFlags flags_;
  RunMode mode_;
  Records records_;  // the state store, written through to its mirrors, and the audit log
  // smolvm's DB rows: the one snapshot, its watch, re-checks and reopen backoff.
  RowWatch rows_{time_, loop_, settings_.smolvm, [this] { return stats_.wakeups.loop; },
                 {[this](const std::set<std::string>& machines) { on_rows_changed(machines); },
                  [this] { on_rows_availability_changed(); }}};

  std::map<std::string, Bottle> bottles_;
  // machine -> bottles whose (last valid) spec names it; normally one, two while in conflict
  std::map<std::string, std::set<std::string>> spec_machine_owners_;
  // VM processes (/proc readings, exit watches), data dirs, boot windows and strays.
  VmWatch vm_watch_{loop_, time_, settings_.smolvm, mode_ == RunMode::Daemon,
                    {[this](const std::string& machine) { on_vm_dir_change(machine); },
                     [this](const std::set<std::string>& machines) { on_boot_windows_ended(machines); },
                     [this](const std::string& bottle, std::int64_t pid, std::optional<platform::ChildExit> how) {
                       on_vm_exited(bottle, pid, how);
                     },
                     [this](const std::string& machine) -> std::optional<std::int64_t> {
                       auto r = rows_.rows().rows.find(machine);
                       return r != rows_.rows().rows.end() ? r->second.record.pid : std::nullopt;
                     }}};
  Host host_;  // processes (the kill path) and listeners (lease choice): the host seams
  GuardState guard_{time_};  // machines no spec manages
  SpecSource specs_{loop_, time_, settings_.specs_dir, mode_ == RunMode::Daemon, settings_.config.pool,
                    settings_.config.debounce,
                    SpecSource::Callbacks{[this](SpecScan scan) { apply_specs(std::move(scan)); },
                                          [this](const std::string&) { hold_all(); }, [this] { resume_all(); }}};
  WorkQueue queue_;
  BottleRounds rounds_{time_, queue_, *this};  // a bottle's step: observe, plan, execute, again
  RemovalGrace removal_{time_, settings_.config.removal_grace, [this](const std::string& name) { queue_.add(name); }};
  CommandSlots slots_;  // smolvm commands, at most CommandSlots::kMaxCommands at once
  DriftHook drift_hook_{loop_};  // on_drift_kill commands, apart from smolvm's command slots

  Timer resync_, watchdog_;
  std::chrono::milliseconds watchdog_every_{0};
  std::vector<UvHandle<uv_signal_t>> signals_;
  std::unique_ptr<ControlServer> control_;
  std::vector<std::function<void()>> pass_waiters_;  // `reconcile` clients waiting for a pass

  DaemonStats stats_;
  bool notify_status_due_ = false;
  UvHandle<uv_check_t> wakeup_counter_;  // counts loop iterations; unref'd: keeps nothing alive
  bool stopping_ = false;
  bool ready_ = false;
  int exit_code_ = 0;
};

// A multi-line message (e.g. several spec diagnostics) as one log line: the journal reads each
// line as its own entry.
std::string one_line(std::string text);

}  // namespace bs::supervisor
