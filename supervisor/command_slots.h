// The executor's command slots: at most kMaxCommands smolvm commands run at once (a thousand
// bottles must not fork a thousand smolvm processes); the bottles that find no free slot wait in
// line, first come first served. A bottle waits by name only: the plan that queued it is stale by
// the time a slot frees (its spec may be gone, its row changed), so the bottle is planned again
// then (`Replan`, the Supervisor's), with the freed slot reserved for the first command of that
// fresh plan. What a command's result means is the Supervisor's business, not the slots'.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/action.h"
#include "supervisor/child_process.h"

namespace bs::supervisor {

// Where smolvm commands run: child processes in the daemon (SmolvmProcesses), a fake in tests.
class SmolvmCommands {
 public:
  virtual ~SmolvmCommands() = default;
  // Starts argv; `done` runs later, from the loop (never from inside run()), with the result.
  virtual void run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                   std::chrono::milliseconds timeout, CommandRunner::Done done) = 0;
  // Pids of the commands still running: children of ours that the resync must not reap.
  virtual std::set<std::int64_t> child_pids() const = 0;
};

// smolvm as child processes on the loop, with the variables smolvm must not inherit left out.
class SmolvmProcesses final : public SmolvmCommands {
 public:
  explicit SmolvmProcesses(uv_loop_t* loop) : runner_(loop) {}
  void run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
           std::chrono::milliseconds timeout, CommandRunner::Done done) override;
  std::set<std::int64_t> child_pids() const override { return runner_.child_pids(); }

 private:
  CommandRunner runner_;
};

class CommandSlots {
 public:
  static constexpr std::size_t kMaxCommands = 8;
  using Replan = std::function<void(const std::string& bottle)>;

  CommandSlots(std::unique_ptr<SmolvmCommands> commands, Replan replan);
  CommandSlots(const CommandSlots&) = delete;
  CommandSlots& operator=(const CommandSlots&) = delete;

  // A bottle's command asks for a slot. True: it may run now (a slot is free and nobody waits
  // before it, or the slot was reserved for this bottle's re-plan). False: the bottle now waits
  // in line and is re-planned when its turn comes; or, after stop(), it runs nothing at all.
  bool admit(const std::string& bottle);
  // Runs an admitted command for `machine`. Its slot is free again, and the machine no longer in
  // flight, when `done` is called.
  void run(const std::string& machine, Action::Kind kind, const std::vector<std::string>& argv,
           const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout,
           CommandRunner::Done done);
  // Hands free slots to the bottles in line, in order: each is re-planned, and a plan without a
  // command (nothing to do any more) leaves the slot to the next bottle.
  void hand_out_free_slots();
  // Shutting down: the line is dropped, nobody is re-planned and nothing new is admitted any more;
  // running commands finish.
  void stop();

  std::size_t running() const { return running_; }
  std::size_t waiting() const { return waiting_.size(); }
  bool idle() const { return running_ == 0 && waiting_.empty(); }
  // The machines a command runs for, and which command.
  const std::map<std::string, Action::Kind>& in_flight() const { return in_flight_; }
  bool in_flight(const std::string& machine) const { return in_flight_.count(machine) != 0; }
  std::chrono::microseconds command_time() const { return command_time_; }  // total, all commands
  std::set<std::int64_t> child_pids() const { return commands_->child_pids(); }

 private:
  std::unique_ptr<SmolvmCommands> commands_;
  Replan replan_;
  std::size_t running_ = 0;
  std::deque<std::string> waiting_;  // bottles, FIFO
  std::optional<std::string> reserved_for_;
  std::map<std::string, Action::Kind> in_flight_;  // by machine
  std::chrono::microseconds command_time_{0};
  bool stopped_ = false;
};

}  // namespace bs::supervisor
