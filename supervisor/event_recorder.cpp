#include "supervisor/event_recorder.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace bs::supervisor {

EventRecorder::EventRecorder(TimeSource& time, store::StateStore& store)
    : time_(time), store_(store), retry_timer_(time) {
  retry_timer_.unref();  // unwritten events never keep a stopping daemon alive
  store_.on_file_problem([](const std::string& problem) { spdlog::error("state store: {}", problem); });
}

EventRecorder::~EventRecorder() {
  if (!pending_.empty()) (void)pending_.flush(store_);  // a last try: the store may take them now
  if (!pending_.empty() || pending_.dropped() != 0) {
    spdlog::error("stopping with {} audit event(s) not written to {} ({} dropped beyond the queue of {})",
                  pending_.size(), store_.path(), pending_.dropped(), store::PendingEvents::kCapacity);
  }
}

void EventRecorder::record(store::Event e) {
  if (!pending_.empty()) {
    // Behind the others, in order. New work is a chance to find the store writable again
    // sooner than the backoff timer would (space freed): tried at most once per kFirstRetry,
    // so a busy daemon on a full disk does not fail a write per event.
    queue(std::move(e), "earlier events are still waiting");
    if (time_.now() - last_try_ >= kFirstRetry) retry();
    return;
  }
  if (auto err = store_.append_event(e)) {
    queue(std::move(e), err->message);
    last_try_ = time_.now();
    next_delay_ = kFirstRetry;
    retry_timer_.start(next_delay_, [this] { retry(); });
  }
}

void EventRecorder::queue(store::Event e, const std::string& why) {
  const std::string kind = e.kind;
  const bool kept = pending_.push(std::move(e));
  if (auto n = queued_log_.admit(time_.now())) {
    spdlog::error("cannot record the {} event now ({}): {}; {} event(s) waiting, {} dropped; retrying{}", kind, why,
                  kept ? "queued" : "queue full, dropped", pending_.size(), pending_.dropped(), suppressed_note(*n));
  }
}

void EventRecorder::retry() {
  last_try_ = time_.now();
  const std::size_t before = pending_.size();
  if (auto err = pending_.flush(store_)) {
    next_delay_ = std::min(next_delay_ * 2, kMaxRetry);
    if (auto n = queued_log_.admit(time_.now())) {
      spdlog::error("still cannot write {} queued audit event(s) to {}: {}; next try in {} ms{}", pending_.size(),
                    store_.path(), err->message, next_delay_.count(), suppressed_note(*n));
    }
    retry_timer_.start(next_delay_, [this] { retry(); });
    return;
  }
  retry_timer_.stop();
  spdlog::warn("wrote {} queued audit event(s) to {}{}", before, store_.path(),
               pending_.dropped() != 0 ? " (" + std::to_string(pending_.dropped()) + " were dropped, the queue was full)"
                                       : std::string());
  next_delay_ = kFirstRetry;
}

}  // namespace bs::supervisor
