// Audit events the store could not take yet (disk full, state.db read-only or busy): kept in
// order, up to a bound, and written when the store takes writes again, so a drift kill recorded
// while the disk was full is still in the log afterwards (CONTRACT §9). Beyond the bound the
// newest are counted and dropped: the oldest are the evidence of what went wrong first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "store/state_store.h"

namespace bs::store {

class PendingEvents {
 public:
  static constexpr std::size_t kCapacity = 10'000;
  explicit PendingEvents(std::size_t capacity = kCapacity) : capacity_(capacity) {}

  // Queues `e` behind the others; false (and counted as dropped) when the queue is full.
  bool push(Event e);
  // Appends queued events, oldest first, until the store refuses one (that error is returned,
  // the event stays queued) or none is left.
  std::optional<StoreError> flush(StateStore& store);

  std::size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  std::uint64_t dropped() const { return dropped_; }  // since the start

 private:
  std::size_t capacity_;
  std::deque<Event> queue_;
  std::uint64_t dropped_ = 0;
};

}  // namespace bs::store
