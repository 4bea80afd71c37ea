// The daemon as a process, around the reconciler (Supervisor): it answers signals (SIGTERM and
// SIGINT stop, SIGHUP reloads the config) and the control socket (status, reconcile, adopt,
// release), tells systemd READY, RELOADING, STOPPING, a STATUS line and watchdog pings, times
// the periodic resync, and answers `reconcile` clients when a pass is done. In Once mode it runs
// one pass and stops, with the exit code saying whether every bottle converged.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "supervisor/supervisor.h"

namespace bs::supervisor {

class ControlServer;
struct ControlRequest;

class Service {
 public:
  Service(uv_loop_t* loop, Settings settings, CommonFlags flags, RunMode mode, store::StateStore store);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads the state, listens, runs the first pass (its kills before READY) and arms the watches
  // and timers. Error: a startup failure.
  std::optional<std::string> start();
  int exit_code() const { return exit_code_; }

 private:
  void on_signal(int signum);
  void reload();
  void begin_shutdown();
  void maybe_finish_shutdown();
  void on_control_request(const ControlRequest& req, std::function<void(const nlohmann::json&)> reply);
  void on_step_ended();  // the Supervisor's: STATUS, `reconcile` clients, shutdown
  // STATUS= may have changed: published at the end of this loop iteration (daemon only).
  void status_due() { systemd_.status_due = mode_ == RunMode::Daemon; }
  void check_pass_waiters();
  void schedule_resync();
  void count_wakeups();
  void ping_watchdog();
  void publish_notify_status();

  uv_loop_t* loop_;
  CommonFlags flags_;  // what reload reads the config with
  RunMode mode_;
  DaemonStats stats_;  // the Supervisor's counters and pass timing too
  Supervisor sup_;
  Timer resync_;
  // What systemd is told: the watchdog's ping timer and interval, and whether STATUS= is due
  // (published once per loop iteration: it visits every bottle).
  struct Systemd {
    explicit Systemd(uv_loop_t* loop) : watchdog(loop) {}
    Timer watchdog;
    std::chrono::milliseconds watchdog_every{0};
    bool status_due = false;
  } systemd_;
  std::vector<UvHandle<uv_signal_t>> signals_;
  std::unique_ptr<ControlServer> control_;
  std::vector<std::function<void()>> pass_waiters_;  // `reconcile` clients waiting for a pass
  UvHandle<uv_check_t> wakeup_counter_;  // counts loop iterations; unref'd: keeps nothing alive
  bool stopping_ = false;
  bool ready_ = false;
  int exit_code_ = 0;
};

}  // namespace bs::supervisor
