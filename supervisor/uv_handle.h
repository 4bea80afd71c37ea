// Owning wrappers for libuv handles. A handle lives on the heap (libuv's queues point at it),
// is closed with uv_close, and is freed only in the close callback, never before.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <utility>

namespace bs::supervisor {

template <class T>
class UvHandle {
 public:
  UvHandle() = default;
  // Takes a handle that was allocated with new and initialised with uv_*_init.
  explicit UvHandle(T* initialised) : h_(initialised) {}
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  ~UvHandle() { reset(); }

  T* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

  void reset() {
    if (h_ == nullptr) return;
    auto* h = reinterpret_cast<uv_handle_t*>(h_);
    h->data = nullptr;  // callbacks already queued must not reach a dead owner
    uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<T*>(closed); });
    h_ = nullptr;
  }

 private:
  T* h_ = nullptr;
};

// A one-shot or repeating timer calling a std::function. Not movable: the handle points at it.
class Timer {
 public:
  explicit Timer(uv_loop_t* loop) : h_(new uv_timer_t) {
    uv_timer_init(loop, h_.get());
    h_.get()->data = this;
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(std::chrono::milliseconds after, std::function<void()> fn) {
    fn_ = std::move(fn);
    uv_timer_start(h_.get(), &Timer::fire, static_cast<std::uint64_t>(after.count() < 0 ? 0 : after.count()), 0);
  }
  void stop() { uv_timer_stop(h_.get()); }
  bool active() const { return uv_is_active(reinterpret_cast<uv_handle_t*>(h_.get())) != 0; }
  // Milliseconds until it fires, if active.
  std::uint64_t due_in() const { return uv_timer_get_due_in(h_.get()); }
  // Timers that should not keep the loop alive on their own (e.g. the watchdog).
  void unref() { uv_unref(reinterpret_cast<uv_handle_t*>(h_.get())); }

 private:
  static void fire(uv_timer_t* t) {
    auto* self = static_cast<Timer*>(t->data);
    if (self == nullptr) return;
    auto fn = self->fn_;  // the callback may restart or destroy the timer
    if (fn) fn();
  }
  UvHandle<uv_timer_t> h_;
  std::function<void()> fn_;
};

}  // namespace bs::supervisor
