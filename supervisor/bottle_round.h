// One reconcile step for one bottle, as rounds: observe, plan (the pure planner), carry out the
// plan's actions, and come round again until the plan is empty (level-triggered). The work
// queue runs one step per bottle at a time; a step ends in one of four ways:
//   - converged (empty plan): done, and the bottle's backoff is reset;
//   - an error (an action failed, the planner reported one, or the plan keeps changing for
//     kMaxRounds rounds): done_failed, so the step runs again after its backoff, never at once;
//   - a restart backoff (a WaitUntil action): the bottle comes back when it is due;
//   - a VM whose booted policy is pending: the bottle comes back when its window closes.
// What a round observes and does goes through RoundWorld, the daemon's side; the loop itself is
// tested with a model world and a fake clock (tests/unit/daemon/bottle_round_test.cpp).
#pragma once

#include <optional>
#include <string>

#include "reconcile/plan.h"
#include "supervisor/bottle.h"
#include "supervisor/time_source.h"
#include "supervisor/work_queue.h"

namespace bs::supervisor {

// What an action came to.
struct Executed {
  enum class Kind {
    Next,    // done: go on with the plan's next action
    Async,   // a smolvm command runs: the world calls resume() or fail() when it is done
    Failed,  // the step ends with `error`
  };
  Kind kind = Kind::Next;
  std::string error;

  static Executed next() { return {}; }
  static Executed async() { return {Kind::Async, {}}; }
  static Executed failed(std::string error) { return {Kind::Failed, std::move(error)}; }
};

// The daemon's side of a round.
class RoundWorld {
 public:
  virtual ~RoundWorld() = default;
  // The planner's input for `b` as the world is now.
  virtual BottleInput observe(Bottle& b) = 0;
  // Carries out one action (never WaitUntil: the round handles that itself).
  virtual Executed execute(Bottle& b, const Action& a) = 0;
  // The step failed with an error other than the one reported last: say so (an "error" event).
  virtual void report_error(Bottle& b, const std::string& error) = 0;
  // The step has ended and the work queue knows: `b` may be forgotten here and must not be used
  // after this call. `failed`: it ended with an error (and runs again after its backoff).
  virtual void step_ended(Bottle& b, bool failed) = 0;
  // A step given up because the daemon is stopping.
  virtual void step_abandoned(const std::string& name) = 0;
};

class BottleRounds {
 public:
  // A step that keeps producing actions is not converging (e.g. something undoes each patch at
  // once): it ends with an error and is retried with backoff.
  static constexpr int kMaxRounds = 12;

  BottleRounds(TimeSource& time, WorkQueue& queue, RoundWorld& world) : time_(time), queue_(queue), world_(world) {}
  BottleRounds(const BottleRounds&) = delete;
  BottleRounds& operator=(const BottleRounds&) = delete;

  // A new step: the work queue's turn for `b`.
  void begin(Bottle& b);
  // Observes and plans again, carrying out the new plan. `count_round` false: not a round of its
  // own (a bottle whose turn for a command slot came replans the plan that queued it).
  void replan(Bottle& b, bool count_round = true);
  // An Async action completed: go on with the plan's next action.
  void resume(Bottle& b) { run_actions(b); }
  // An Async action failed: the step ends with `error`.
  void fail(Bottle& b, std::string error) { finish(b, std::move(error)); }
  // From now on every step is given up at its next turn (the daemon is stopping).
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }

 private:
  void run_actions(Bottle& b);
  void wait_until(Bottle& b, const Action& a);
  void finish(Bottle& b, std::optional<std::string> error);

  TimeSource& time_;
  WorkQueue& queue_;
  RoundWorld& world_;
  bool stopping_ = false;
};

}  // namespace bs::supervisor
