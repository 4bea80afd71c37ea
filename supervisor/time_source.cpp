#include "supervisor/time_source.h"

#include "supervisor/uv_handle.h"

namespace bs::supervisor {
namespace {

class UvAlarm final : public Alarm {
 public:
  explicit UvAlarm(uv_loop_t* loop) : h_(new uv_timer_t) {
    uv_timer_init(loop, h_.get());
    h_.get()->data = this;
  }
  void start(std::chrono::milliseconds after, std::function<void()> fn) override {
    fn_ = std::move(fn);
    uv_timer_start(h_.get(), &UvAlarm::fire, static_cast<std::uint64_t>(after.count() < 0 ? 0 : after.count()), 0);
  }
  void stop() override { uv_timer_stop(h_.get()); }
  bool active() const override { return uv_is_active(reinterpret_cast<uv_handle_t*>(h_.get())) != 0; }
  std::uint64_t due_in() const override { return uv_timer_get_due_in(h_.get()); }
  void unref() override { uv_unref(reinterpret_cast<uv_handle_t*>(h_.get())); }

 private:
  static void fire(uv_timer_t* t) {
    auto* self = static_cast<UvAlarm*>(t->data);
    if (self == nullptr) return;
    auto fn = self->fn_;  // the callback may restart or destroy the alarm
    if (fn) fn();
  }
  UvHandle<uv_timer_t> h_;
  std::function<void()> fn_;
};

}  // namespace

std::int64_t LoopTime::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Alarm> LoopTime::alarm() { return std::make_unique<UvAlarm>(loop_); }

}  // namespace bs::supervisor
