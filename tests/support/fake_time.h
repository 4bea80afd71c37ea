// A TimeSource whose clocks move only when the test says so: advance() fires the alarms that fall
// due, in order of their due time (ties: in the order they were started), each at its own due
// time, so a callback that starts another alarm within the advance sees it fire too.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "supervisor/time_source.h"

namespace bs::test {

class FakeTime final : public supervisor::TimeSource {
 public:
  FakeTime() = default;
  FakeTime(const FakeTime&) = delete;
  FakeTime& operator=(const FakeTime&) = delete;

  TimePoint now() const override { return now_; }
  std::int64_t wall_ms() const override {
    return kWallEpochMs + std::chrono::duration_cast<std::chrono::milliseconds>(now_ - TimePoint{}).count();
  }
  std::unique_ptr<supervisor::Alarm> alarm() override { return std::make_unique<FakeAlarm>(*this); }

  // Moves the clocks on by `d`, firing every alarm due by then. Returns how many fired.
  int advance(std::chrono::milliseconds d) {
    const TimePoint until = now_ + d;
    int fired = 0;
    while (FakeAlarm* next = earliest_due(until)) {
      now_ = std::max(now_, next->due_);
      next->active_ = false;
      auto fn = next->fn_;  // the callback may restart or destroy its alarm
      ++fired;
      if (fn) fn();
    }
    now_ = until;
    return fired;
  }
  int run_due() { return advance(std::chrono::milliseconds(0)); }  // what is due now (0 ms alarms)
  std::size_t pending() const {
    return static_cast<std::size_t>(std::count_if(alarms_.begin(), alarms_.end(), [](auto* a) { return a->active_; }));
  }

  static constexpr std::int64_t kWallEpochMs = 1'800'000'000'000;  // 2027-01-15: any fixed wall time

 private:
  class FakeAlarm final : public supervisor::Alarm {
   public:
    explicit FakeAlarm(FakeTime& t) : t_(t) { t_.alarms_.insert(this); }
    ~FakeAlarm() override { t_.alarms_.erase(this); }
    void start(std::chrono::milliseconds after, std::function<void()> fn) override {
      fn_ = std::move(fn);
      due_ = t_.now_ + std::max(after, std::chrono::milliseconds(0));
      seq_ = ++t_.seq_;
      active_ = true;
    }
    void stop() override { active_ = false; }
    bool active() const override { return active_; }
    std::uint64_t due_in() const override {
      if (!active_ || due_ <= t_.now_) return 0;
      return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(due_ - t_.now_).count());
    }

   private:
    friend class FakeTime;
    FakeTime& t_;
    std::function<void()> fn_;
    TimePoint due_{};
    std::uint64_t seq_ = 0;
    bool active_ = false;
  };

  FakeAlarm* earliest_due(TimePoint until) const {
    FakeAlarm* best = nullptr;
    for (FakeAlarm* a : alarms_) {
      if (!a->active_ || a->due_ > until) continue;
      if (best == nullptr || a->due_ < best->due_ || (a->due_ == best->due_ && a->seq_ < best->seq_)) best = a;
    }
    return best;
  }

  TimePoint now_ = TimePoint{} + std::chrono::hours(1000);  // far from zero: "since" maths stays positive
  std::uint64_t seq_ = 0;
  std::set<FakeAlarm*> alarms_;
};

}  // namespace bs::test
