// Owning wrappers for libuv handles. A handle lives on the heap (libuv's queues point at it), is
// closed with uv_close, and is freed only in the close callback, never before. (Timers:
// time_source.h.)
#pragma once

#include <uv.h>

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

}  // namespace bs::supervisor
