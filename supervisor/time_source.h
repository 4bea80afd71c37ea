// The daemon's one source of time: the steady clock its plans and timers run on, the wall clock
// its events and status show, and one-shot alarms. In the daemon it is the libuv loop
// (LoopTime); in unit tests a fake clock that moves only when the test advances it
// (tests/support/fake_time.h), so the work queue, the removal grace, backoff and the kill path
// are tested in milliseconds, with no sleeps.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "reconcile/restart_backoff.h"  // TimePoint

namespace bs::supervisor {

// One pending callback at a time: start() replaces what was pending.
class Alarm {
 public:
  virtual ~Alarm() = default;
  virtual void start(std::chrono::milliseconds after, std::function<void()> fn) = 0;
  virtual void stop() = 0;
  virtual bool active() const = 0;
  virtual std::uint64_t due_in() const = 0;  // milliseconds until it fires, if active
  // An alarm that should not keep the loop alive on its own (e.g. the watchdog).
  virtual void unref() {}
};

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;         // steady: deadlines, graces, backoff
  virtual std::int64_t wall_ms() const = 0;  // Unix ms: events, status
  virtual std::unique_ptr<Alarm> alarm() = 0;
};

// The real clocks, and alarms as libuv timers on `loop`.
class LoopTime final : public TimeSource {
 public:
  explicit LoopTime(uv_loop_t* loop) : loop_(loop) {}
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t wall_ms() const override;
  std::unique_ptr<Alarm> alarm() override;
  uv_loop_t* loop() const { return loop_; }

 private:
  uv_loop_t* loop_;
};

// An owned alarm. Not movable: the alarm's callback may point at its owner.
class Timer {
 public:
  explicit Timer(TimeSource& time) : a_(time.alarm()) {}
  explicit Timer(uv_loop_t* loop) : Timer(LoopTime(loop)) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // The callback may restart or destroy the timer.
  void start(std::chrono::milliseconds after, std::function<void()> fn) { a_->start(after, std::move(fn)); }
  void stop() { a_->stop(); }
  bool active() const { return a_->active(); }
  std::uint64_t due_in() const { return a_->due_in(); }
  void unref() { a_->unref(); }

 private:
  explicit Timer(LoopTime&& time) : a_(time.alarm()) {}
  std::unique_ptr<Alarm> a_;
};

}  // namespace bs::supervisor
