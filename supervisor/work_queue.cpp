#include "supervisor/work_queue.h"

#include <algorithm>

namespace bs::supervisor {

WorkQueue::WorkQueue(TimeSource& time, Handler handler)
    : time_(time), handler_(std::move(handler)), drain_timer_(time) {}

void WorkQueue::set_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) {
  initial_ = initial;
  max_ = max;
}

void WorkQueue::add(const std::string& key) {
  if (auto it = delayed_.find(key); it != delayed_.end()) {
    delayed_.erase(it);  // an explicit add supersedes a scheduled one
    due_.erase(key);
  }
  if (processing_.count(key) != 0) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) {
    queue_.push_back(key);
    schedule_drain();
  }
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    add(key);
    return;
  }
  auto when = time_.now() + delay;
  if (auto d = due_.find(key); d != due_.end() && d->second <= when) return;  // earlier wins
  auto timer = std::make_unique<Timer>(time_);
  timer->start(delay, [this, key] {
    // Timer::fire runs a copy of this callback, so freeing the timer here is safe.
    due_.erase(key);
    delayed_.erase(key);
    add(key);
  });
  delayed_[key] = std::move(timer);
  due_[key] = when;
}

std::chrono::milliseconds WorkQueue::add_rate_limited(const std::string& key) {
  int n = failures_[key]++;
  auto delay = initial_;
  for (int i = 0; i < n && delay < max_; ++i) delay *= 2;
  delay = std::min(delay, max_);
  add_after(key, delay);
  return delay;
}

void WorkQueue::forget(const std::string& key) { failures_.erase(key); }

int WorkQueue::failures(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<TimePoint> WorkQueue::scheduled(const std::string& key) const {
  auto it = due_.find(key);
  if (it == due_.end()) return std::nullopt;
  return it->second;
}

void WorkQueue::done(const std::string& key) {
  processing_.erase(key);
  if (dirty_.erase(key) != 0) add(key);
}

std::chrono::milliseconds WorkQueue::done_failed(const std::string& key) {
  processing_.erase(key);
  dirty_.erase(key);
  return add_rate_limited(key);
}

void WorkQueue::schedule_drain() {
  if (!drain_timer_.active()) drain_timer_.start(std::chrono::milliseconds(0), [this] { drain(); });
}

void WorkQueue::drain() {
  // Handlers run one after another; a handler that starts async work returns at once.
  while (!queue_.empty()) {
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(key);
    processing_.insert(key);
    handler_(key);
  }
}

}  // namespace bs::supervisor
