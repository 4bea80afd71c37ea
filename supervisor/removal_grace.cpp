#include "supervisor/removal_grace.h"

#include <algorithm>

namespace bs::supervisor {

RemovalGrace::RemovalGrace(TimeSource& time, std::chrono::milliseconds grace, OnDue on_due)
    : time_(time), grace_(grace), on_due_(std::move(on_due)) {}

void RemovalGrace::begin(const std::string& bottle) {
  Grace& g = graces_[bottle];
  g.since = time_.now();
  arm(bottle, g);
}

void RemovalGrace::end(const std::string& bottle) { graces_.erase(bottle); }

void RemovalGrace::set_grace(std::chrono::milliseconds grace) {
  grace_ = grace;
  for (auto& [bottle, g] : graces_) arm(bottle, g);
}

void RemovalGrace::hold() {
  held_ = true;
  for (auto& [_, g] : graces_) {
    if (g.timer) g.timer->stop();
  }
}

void RemovalGrace::resume() {
  if (!held_) return;
  held_ = false;
  const TimePoint now = time_.now();
  for (auto& [bottle, g] : graces_) {
    g.since = now;
    arm(bottle, g);
  }
}

void RemovalGrace::stop() {
  for (auto& [_, g] : graces_) g.timer.reset();
}

bool RemovalGrace::removed(const std::string& bottle) const {
  auto it = graces_.find(bottle);
  return !held_ && it != graces_.end() && time_.now() - it->second.since >= grace_;
}

bool RemovalGrace::running(const std::string& bottle) const {
  auto it = graces_.find(bottle);
  return it != graces_.end() && it->second.timer && it->second.timer->active();
}

std::optional<std::uint64_t> RemovalGrace::due_in(const std::string& bottle) const {
  if (!running(bottle)) return std::nullopt;
  return graces_.at(bottle).timer->due_in();
}

void RemovalGrace::rearm(const std::string& bottle) {
  auto it = graces_.find(bottle);
  if (it == graces_.end() || running(bottle)) return;
  arm(bottle, it->second);
}

void RemovalGrace::arm(const std::string& bottle, Grace& g) {
  if (held_) return;  // no grace runs while the folder cannot be read
  if (!g.timer) g.timer = std::make_unique<Timer>(time_);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(grace_ - (time_.now() - g.since));
  // +1 ms: the loop's clock may run a little behind the steady clock the planner is given.
  g.timer->start(std::max(left, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1),
                 [this, bottle] { on_due_(bottle); });
}

}  // namespace bs::supervisor
