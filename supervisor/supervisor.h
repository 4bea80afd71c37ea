// The reconciler: it wires the parts that watch the spec folder, smolvm's DB and the VMs, and
// reconciles each bottle through the work queue until what runs matches the specs. The Service
// (service.h) runs it: signals, the control socket, systemd, the resync timer. The first pass and
// rescans live in supervisor.cpp, a bottle's step in bottle_work.cpp (its rounds: BottleRounds,
// its actions: the Executor), status in status_document.cpp.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
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
#include "supervisor/bottle_table.h"
#include "supervisor/child_process.h"
#include "supervisor/command_slots.h"
#include "supervisor/daemon.h"
#include "supervisor/executor.h"
#include "supervisor/guard_watch.h"
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
  std::chrono::steady_clock::time_point started{};  // set by Supervisor::begin()
  std::int64_t last_resync_ms = 0;
  // For benchmarks and status: how long the last full pass took, observation and all steps.
  std::optional<std::chrono::steady_clock::time_point> pass_started;
  std::chrono::steady_clock::duration last_resync_observe{}, last_pass_duration{};
};

class Supervisor final : private RoundWorld {
 public:
  // What the Service hears of it.
  struct Hooks {
    std::function<void()> status_changed;  // what STATUS= says may have changed
    std::function<void()> step_ended;      // a bottle's step ended (or was given up while stopping)
  };

  Supervisor(uv_loop_t* loop, Settings settings, RunMode mode, store::StateStore store, DaemonStats& stats,
             Hooks hooks);
  ~Supervisor() override;
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // The state store and the last valid specs it saved. Error: a startup failure.
  std::optional<std::string> load();
  // The first pass: reads the specs and the DB, kills what must die, queues every bottle, and
  // (Daemon) arms the watches.
  void begin();
  // A full pass: every spec, row and VM looked at again, every bottle queued.
  void resync();
  void apply_settings(Settings fresh);  // a reloaded config
  const Settings& settings() const { return settings_; }

  // Stopping: no new step begins, the watches stop; commands already running complete.
  void stop();
  bool stopping() const { return rounds_.stopping(); }
  // No command runs any more: the handles may go (close()).
  bool quiescent() const { return executor_.slots().running() == 0; }
  void close();
  // Nothing is queued or running: the pass ends here (for status' last_pass_ms).
  bool pass_complete();
  void new_tick() { vm_watch_.new_tick(); }  // a loop iteration: /proc readings may be stale

  bool all_converged() const;
  std::size_t bottle_count() const { return bottles_.size(); }
  std::string status_line() const;  // for sd_notify's STATUS=
  // The §8 document, filtered to `names` when not empty.
  nlohmann::json status_document(const std::vector<std::string>& names);
  // handoff.cpp: `adopt` and `release` through the control socket
  nlohmann::json adopt_machine(const std::string& bottle, const std::string& machine);
  nlohmann::json release_bottle(const std::string& bottle);

 private:
  // supervisor.cpp: the DB's reports, the at-once drift check (the first pass, rescans and events
  // are there too)
  void on_rows_changed(const std::set<std::string>& machines);  // drift check + queue owners
  void on_rows_availability_changed();
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
  // handoff.cpp
  std::optional<Ipv4> launcher_address(const Bottle& b) const;  // the pool /32 its machine's row allows

  // bottle_work.cpp: a bottle's reconcile step, the daemon's side of it (RoundWorld)
  void process(const std::string& name);  // the work queue's turn for a bottle
  BottleInput observe(Bottle& b) override;
  void report_error(Bottle& b, const std::string& error) override;
  void step_ended(Bottle& b, bool failed) override;
  void step_abandoned(const std::string& name) override;
  BottleInput build_input(Bottle& b);
  std::optional<Allowlist> desired_of(const Bottle& b) const;
  std::vector<std::string> machines_of(const Bottle& b) const;
  std::optional<std::string> bottle_of_machine(const std::string& machine) const;
  bool converged(const Bottle& b) const;

  Executed execute(Bottle& b, const Action& a) override { return executor_.execute(b, a); }
  // An audit event: recorded, logged (to the journal with its fields), the bottle's last event.
  std::int64_t event(const std::string& bottle, const std::string& machine, const std::string& kind,
                     const std::string& detail);

  LoopTime time_;  // and the loop the parts run on
  Settings settings_;
  RunMode mode_;
  DaemonStats& stats_;  // the Service's
  Hooks hooks_;
  Records records_;  // the state store, written through to its mirrors, and the audit log
  // smolvm's DB rows: the one snapshot, its watch, re-checks and reopen backoff.
  RowWatch rows_{time_, time_.loop(), settings_.smolvm, [this] { return stats_.wakeups.loop; },
                 {[this](const std::set<std::string>& machines) { on_rows_changed(machines); },
                  [this] { on_rows_availability_changed(); }}};

  BottleTable bottles_;  // the bottles, and which of them each machine's specs name
  // VM processes (/proc readings, exit watches), data dirs, boot windows and strays.
  VmWatch vm_watch_{time_.loop(), time_, settings_.smolvm, mode_ == RunMode::Daemon,
                    {[this](const std::string& machine) { on_vm_dir_change(machine); },
                     [this](const std::set<std::string>& machines) { on_boot_windows_ended(machines); },
                     [this](const std::string& bottle, std::int64_t pid, std::optional<platform::ChildExit> how) {
                       on_vm_exited(bottle, pid, how);
                     },
                     [this](const std::string& machine) -> std::optional<std::int64_t> {
                       auto r = rows_.rows().rows.find(machine);
                       return r != rows_.rows().rows.end() ? r->second.record.pid : std::nullopt;
                     }}};
  GuardState guard_{time_};  // machines no spec manages
  SpecSource specs_{time_.loop(), time_, settings_.specs_dir, mode_ == RunMode::Daemon, settings_.config.pool,
                    settings_.config.debounce,
                    SpecSource::Callbacks{[this](SpecScan scan) { apply_specs(std::move(scan)); },
                                          [this](const std::string&) { hold_all(); }, [this] { resume_all(); }}};
  WorkQueue queue_;
  BottleRounds rounds_{time_, queue_, *this};  // a bottle's step: observe, plan, execute, again
  RemovalGrace removal_{time_, settings_.config.removal_grace, [this](const std::string& name) { queue_.add(name); }};
  // Carries out the plans' actions: smolvm commands in their slots, kills, the row patch, leases.
  Executor executor_{time_.loop(), mode_ == RunMode::Daemon,
                     Executor::Parts{time_, settings_, records_, rows_, vm_watch_, bottles_, queue_, rounds_,
                                     stats_.counters},
                     Executor::Links{[this](const std::string& bottle, const std::string& machine,
                                            const std::string& kind, const std::string& detail) {
                                       return event(bottle, machine, kind, detail);
                                     },
                                     [this](const std::set<std::string>& machines) { on_rows_changed(machines); },
                                     [this] { return outside_held_addresses(); },
                                     [this](const Bottle& b) { return launcher_address(b); }},
                     Host::of(time_.loop())};
};

// A multi-line message (e.g. several spec diagnostics) as one log line: the journal reads each
// line as its own entry.
std::string one_line(std::string text);

}  // namespace bs::supervisor
