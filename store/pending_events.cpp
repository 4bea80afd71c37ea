#include "store/pending_events.h"

namespace bs::store {

bool PendingEvents::push(Event e) {
  if (queue_.size() >= capacity_) {
    ++dropped_;
    return false;
  }
  queue_.push_back(std::move(e));
  return true;
}

std::optional<StoreError> PendingEvents::flush(StateStore& store) {
  while (!queue_.empty()) {
    if (auto err = store.append_event(queue_.front())) return err;
    queue_.pop_front();
  }
  return std::nullopt;
}

}  // namespace bs::store
