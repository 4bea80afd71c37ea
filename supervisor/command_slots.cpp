#include "supervisor/command_slots.h"

#include "smolvm/cli.h"

namespace bs::supervisor {

void SmolvmProcesses::run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout, CommandRunner::Done done) {
  runner_.run(argv, env, timeout, std::move(done), smolvm::withheld_from_smolvm);
}

CommandSlots::CommandSlots(std::unique_ptr<SmolvmCommands> commands, Replan replan)
    : commands_(std::move(commands)), replan_(std::move(replan)) {}

bool CommandSlots::admit(const std::string& bottle) {
  // Shutting down: nothing new starts, and there is no line to wait in.
  if (stopped_) return false;
  if (reserved_for_ == bottle) {
    reserved_for_.reset();
    return true;
  }
  if (waiting_.empty() && running_ < kMaxCommands) return true;
  waiting_.push_back(bottle);
  return false;
}

void CommandSlots::run(const std::string& machine, Action::Kind kind, const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout,
                       CommandRunner::Done done) {
  in_flight_[machine] = kind;
  ++running_;
  commands_->run(argv, env, timeout, [this, machine, done = std::move(done)](CommandResult r) {
    --running_;
    in_flight_.erase(machine);
    command_time_ += r.elapsed;
    if (done) done(std::move(r));
  });
}

void CommandSlots::hand_out_free_slots() {
  while (!waiting_.empty() && running_ < kMaxCommands && !stopped_) {
    std::string bottle = std::move(waiting_.front());
    waiting_.pop_front();
    // Planned again now: the plan that queued it may be minutes old.
    reserved_for_ = bottle;
    replan_(bottle);
    reserved_for_.reset();
  }
}

void CommandSlots::stop() {
  stopped_ = true;
  waiting_.clear();
}

}  // namespace bs::supervisor
