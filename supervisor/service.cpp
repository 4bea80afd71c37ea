#include "supervisor/service.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <random>

#include "platform/reaper.h"
#include "supervisor/control_server.h"
#include "supervisor/logging.h"
#include "supervisor/notify.h"

namespace bs::supervisor {
namespace {

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.9, 1.1);  // ±10 %: no aligned resyncs
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * dist(rng)));
}

}  // namespace

Service::Service(uv_loop_t* loop, Settings settings, CommonFlags flags, RunMode mode, store::StateStore store)
    : loop_(loop),
      flags_(std::move(flags)),
      mode_(mode),
      sup_(loop, std::move(settings), mode, std::move(store), stats_,
           Supervisor::Hooks{[this] { status_due(); },
                             [this] { on_step_ended(); }}),
      resync_(loop),
      systemd_(loop) {}

Service::~Service() = default;

std::optional<std::string> Service::start() {
  platform::become_child_subreaper();
  count_wakeups();
  if (auto err = sup_.load()) return err;

  if (mode_ == RunMode::Daemon) {
    for (int signum : {SIGTERM, SIGINT, SIGHUP}) {
      auto* h = new uv_signal_t;
      uv_signal_init(loop_, h);
      h->data = this;
      uv_signal_start(h, [](uv_signal_t* s, int n) {
        if (s->data != nullptr) static_cast<Service*>(s->data)->on_signal(n);
      }, signum);
      signals_.emplace_back(h);
    }
    auto server = ControlServer::listen(
        loop_, sup_.settings().socket_path,
        [this](const ControlRequest& req, std::function<void(const nlohmann::json&)> reply) {
          on_control_request(req, std::move(reply));
        });
    if (!server) return server.error();
    control_ = std::move(*server);
  }

  sup_.begin();  // the first pass's kills happen here, before READY: nothing unconfined survives our start
  ready_ = true;
  if (mode_ == RunMode::Daemon) {
    schedule_resync();
    if (auto interval = notify::watchdog_interval()) {
      auto half = std::chrono::duration_cast<std::chrono::milliseconds>(*interval) / 2;
      systemd_.watchdog_every = half.count() > 0 ? half : std::chrono::milliseconds(1000);
      ping_watchdog();
    }
    notify::ready();
    status_due();
    spdlog::info("ready: {} bottle(s), specs {}, smolvm DB {}", sup_.bottle_count(), sup_.settings().specs_dir,
                 sup_.settings().smolvm.db);
  } else {
    pass_waiters_.push_back([this] {
      exit_code_ = sup_.all_converged() ? 0 : 1;
      begin_shutdown();
    });
    check_pass_waiters();
  }
  return std::nullopt;
}

void Service::schedule_resync() {
  resync_.start(jittered(sup_.settings().config.resync_interval), [this] {
    ++stats_.wakeups.resync;
    sup_.resync();
    schedule_resync();
  });
}

void Service::count_wakeups() {
  auto* check = new uv_check_t;
  uv_check_init(loop_, check);
  check->data = this;
  // A check handle runs once per loop iteration, after the poll for I/O: once per wake-up.
  uv_check_start(check, [](uv_check_t* c) {
    if (c->data == nullptr) return;
    auto* self = static_cast<Service*>(c->data);
    ++self->stats_.wakeups.loop;
    self->sup_.new_tick();
    self->publish_notify_status();
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(check));
  wakeup_counter_ = UvHandle<uv_check_t>(check);
}

// A ping from a loop timer: a wedged loop stops pinging and systemd restarts us.
void Service::ping_watchdog() {
  notify::watchdog();
  systemd_.watchdog.start(systemd_.watchdog_every, [this] {
    ++stats_.wakeups.watchdog;
    ping_watchdog();
  });
}

void Service::publish_notify_status() {
  if (!systemd_.status_due) return;
  systemd_.status_due = false;
  notify::status(sup_.status_line());
}

// ---- signals, reload, shutdown ----------------------------------------------------------------

void Service::on_signal(int signum) {
  if (signum == SIGHUP) {
    reload();
    return;
  }
  spdlog::info("received {}, stopping (VMs keep running)", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  begin_shutdown();
}

void Service::reload() {
  notify::reloading();
  auto fresh = reload_settings(sup_.settings(), flags_);
  if (!fresh) {
    spdlog::error("config reload failed, keeping the old config: {}", fresh.error());
  } else {
    sup_.apply_settings(std::move(*fresh));
    schedule_resync();
    sup_.resync();
  }
  notify::ready();
}

void Service::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  if (ready_ && mode_ == RunMode::Daemon) notify::stopping();
  sup_.stop();
  resync_.stop();
  systemd_.watchdog.stop();
  maybe_finish_shutdown();
}

void Service::maybe_finish_shutdown() {
  if (!stopping_) return;
  // Finish the step in hand: commands already running complete (bounded by their timeout).
  if (!sup_.quiescent()) return;
  sup_.close();
  wakeup_counter_.reset();
  control_.reset();
  signals_.clear();
  uv_stop(loop_);
}

void Service::on_step_ended() {
  status_due();
  check_pass_waiters();
  maybe_finish_shutdown();
}

// ---- control requests -------------------------------------------------------------------------

void Service::on_control_request(const ControlRequest& req, std::function<void(const nlohmann::json&)> reply) {
  if (req.cmd == "status") {
    reply({{"ok", true}, {"status", sup_.status_document(req.bottles)}});
    return;
  }
  if (req.cmd == "reconcile") {
    auto names = req.bottles;
    pass_waiters_.push_back([this, names, reply] {
      reply({{"ok", true}, {"status", sup_.status_document(names)}});
    });
    sup_.resync();
    check_pass_waiters();
    return;
  }
  if (req.cmd == "adopt" || req.cmd == "release") {
    auto field = [&](const char* key) {
      auto it = req.body.find(key);
      return it != req.body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    reply(req.cmd == "adopt" ? sup_.adopt_machine(field("bottle"), field("machine"))
                             : sup_.release_bottle(field("bottle")));
    return;
  }
  reply({{"ok", false}, {"error", "unknown command '" + req.cmd + "'"}});
}

void Service::check_pass_waiters() {
  if (!sup_.pass_complete()) return;
  if (pass_waiters_.empty()) return;
  auto waiters = std::move(pass_waiters_);
  pass_waiters_.clear();
  for (auto& w : waiters) w();
}

}  // namespace bs::supervisor
