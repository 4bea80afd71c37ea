// Writes the daemon's audit events (CONTRACT §9) into its state store. An event the store cannot
// take now (disk full, read-only, busy) is kept in a bounded queue (store/pending_events.h) and
// retried on a timer with backoff (1 s doubling to 30 s, never a hot loop); events that come
// while others wait queue behind them, so the log keeps its order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "store/pending_events.h"
#include "store/state_store.h"
#include "supervisor/log_throttle.h"
#include "supervisor/time_source.h"

namespace bs::supervisor {

class EventRecorder {
 public:
  static constexpr std::chrono::milliseconds kFirstRetry{1000};
  static constexpr std::chrono::milliseconds kMaxRetry{30'000};

  EventRecorder(TimeSource& time, store::StateStore& store);
  ~EventRecorder();  // logs what is still unwritten
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void record(store::Event e);

  std::size_t pending() const { return pending_.size(); }
  std::uint64_t dropped() const { return pending_.dropped(); }

 private:
  void retry();
  void queue(store::Event e, const std::string& why);

  TimeSource& time_;
  store::StateStore& store_;
  store::PendingEvents pending_;
  Timer retry_timer_;
  std::chrono::milliseconds next_delay_ = kFirstRetry;
  TimePoint last_try_{};
  LogThrottle queued_log_{std::chrono::seconds(10)};
};

}  // namespace bs::supervisor
