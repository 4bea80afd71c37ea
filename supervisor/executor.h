// The executor: carries out the actions a bottle's plan holds, and decides no policy. Store
// writes go through Records, the guarded row patch through RowWatch, kills through kill_vm (the
// host's ProcessControl), smolvm's create, start, stop and delete through the command slots, the
// on_drift_kill command after each drift kill. What smolvm answered becomes records and events,
// and the bottle's round goes on (BottleRounds): planned again after every command, never from
// the stale rest of the old plan; a failure ends the step with its error.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "reconcile/plan.h"
#include "store/state_store.h"
#include "supervisor/bottle.h"
#include "supervisor/bottle_round.h"
#include "supervisor/bottle_table.h"
#include "supervisor/command_slots.h"
#include "supervisor/drift_hook.h"
#include "supervisor/host.h"
#include "supervisor/records.h"
#include "supervisor/row_watch.h"
#include "supervisor/settings.h"
#include "supervisor/time_source.h"
#include "supervisor/vm_watch.h"
#include "supervisor/work_queue.h"

namespace bs::supervisor {

// What the daemon counts about what the executor did (status, sd_notify).
struct Counters {
  std::uint64_t patches = 0, drift_kills = 0, starts = 0, stops = 0, errors = 0;
};

class Executor {
 public:
  // What it tells and asks the rest of the daemon.
  struct Links {
    // An audit event (recorded, logged, and the bottle's last event); returns its timestamp.
    std::function<std::int64_t(const std::string& bottle, const std::string& machine, const std::string& kind,
                               const std::string& detail)>
        event;
    // Rows of other machines changed while a command ran: they get the at-once drift check.
    std::function<void(const std::set<std::string>& machines)> rows_changed;
    std::function<std::set<std::uint32_t>()> outside_held_addresses;  // pool addresses outside rows allow
    std::function<std::optional<Ipv4>(const Bottle& b)> launcher_address;  // its spec's machine's, if unmanaged
  };
  // What it works on: the daemon's parts, by reference (it owns none of them).
  struct Parts {
    TimeSource& time;
    const Settings& settings;
    Records& records;
    RowWatch& rows;
    VmWatch& vm_watch;
    BottleTable& bottles;
    WorkQueue& queue;
    BottleRounds& rounds;
    Counters& counters;
  };

  Executor(uv_loop_t* loop, bool daemon, Parts parts, Links links, Host host);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // One action of `b`'s plan (never WaitUntil: BottleRounds' own). Async: a smolvm command runs
  // (or waits for a slot); the bottle's round goes on when it is done.
  Executed execute(Bottle& b, const Action& a);
  // Kills the VM a Kill action names if it is still that VM. Error: it could not be signalled.
  std::optional<std::string> kill(Bottle& b, const Action& a);

  const CommandSlots& slots() const { return slots_; }
  ProcessControl& processes() { return *processes_; }
  // Our children that libuv waits for (smolvm commands, on_drift_kill): not ours to reap.
  std::set<std::int64_t> child_pids() const;
  void stop() { slots_.stop(); }  // commands already running complete; no new one starts

 private:
  std::optional<std::string> acquire_lease(Bottle& b, const Action& a);
  std::optional<std::string> patch_row(Bottle& b, const Action& a, bool quarantine);
  std::optional<std::string> remember_machine(Bottle& b, const Action& a, std::optional<store::Origin> origin);
  std::optional<std::string> record_verified(Bottle& b, const Action& a);
  // smolvm_commands.cpp
  void run_smolvm(Bottle& b, const Action& a);
  void launch_command(Bottle& b, const Action& a);
  void on_smolvm_done(const std::string& name, Action a, CommandResult r);
  // After our create: does the row, as re-read, hold the allowlist the create was given?
  bool created_row_verified(const Action& create) const;
  std::map<std::string, std::string> smolvm_env() const;

  bool daemon_;
  Parts p_;
  Links links_;
  std::unique_ptr<ProcessControl> processes_;  // the kill path's
  std::unique_ptr<ListenerTable> listeners_;   // lease choice's
  CommandSlots slots_;  // smolvm commands, at most CommandSlots::kMaxCommands at once
  DriftHook drift_hook_;  // on_drift_kill commands, apart from smolvm's command slots
};

}  // namespace bs::supervisor
