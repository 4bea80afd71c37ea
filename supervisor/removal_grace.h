// The removal grace (CONTRACT §6.7): a bottle whose spec file is gone is removed only once the
// file has stayed away for `removal_grace`. A grace is a timer of its own: when it runs out the
// bottle is handed to `on_due` at once, whatever started the grace. (A delayed queue entry would
// be superseded by any other add meanwhile.) While the spec folder cannot be read or trusted no
// grace runs, and when it can again every grace starts over: the time the folder could not be
// read does not count.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "supervisor/time_source.h"

namespace bs::supervisor {

class RemovalGrace {
 public:
  using OnDue = std::function<void(const std::string& bottle)>;

  RemovalGrace(TimeSource& time, std::chrono::milliseconds grace, OnDue on_due);
  RemovalGrace(const RemovalGrace&) = delete;
  RemovalGrace& operator=(const RemovalGrace&) = delete;

  // The bottle's spec file is gone as of now (a grace already running starts over).
  void begin(const std::string& bottle);
  // Its file is back, or the bottle is forgotten: no grace.
  void end(const std::string& bottle);
  // A new removal_grace applies to the graces already running.
  void set_grace(std::chrono::milliseconds grace);
  // The spec folder cannot be read or trusted: every grace stops (the bottles stay absent).
  void hold();
  // It can again: every absent bottle gets a whole grace from now.
  void resume();
  // Shutdown: no timer outlives the loop.
  void stop();

  bool held() const { return held_; }
  bool absent(const std::string& bottle) const { return graces_.count(bottle) != 0; }
  // Absent for a whole grace, and not held.
  bool removed(const std::string& bottle) const;
  // Its timer is still to fire.
  bool running(const std::string& bottle) const;
  // Milliseconds until its timer fires, if it is running.
  std::optional<std::uint64_t> due_in(const std::string& bottle) const;
  // The planner asked before the timer fired (the loop's clock may run a little behind the
  // steady clock): start the timer again for what is left, if it is not running.
  void rearm(const std::string& bottle);

 private:
  struct Grace {
    TimePoint since;
    std::unique_ptr<Timer> timer;
  };
  void arm(const std::string& bottle, Grace& g);

  TimeSource& time_;
  std::chrono::milliseconds grace_;
  OnDue on_due_;
  bool held_ = false;
  std::map<std::string, Grace> graces_;
};

}  // namespace bs::supervisor
