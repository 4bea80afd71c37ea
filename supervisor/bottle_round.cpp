#include "supervisor/bottle_round.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace bs::supervisor {

void BottleRounds::begin(Bottle& b) {
  b.rounds = 0;
  b.exec_error.reset();
  b.settled = false;
  replan(b);
}

void BottleRounds::replan(Bottle& b, bool count_round) {
  if (stopping_) {
    const std::string name = b.name;
    queue_.done(name);
    world_.step_abandoned(name);
    return;
  }
  if (count_round && ++b.rounds > kMaxRounds) {
    finish(b, "not converging: the plan keeps changing (last: " +
                  (b.plan.empty() ? std::string("-") : to_string(b.plan.back())) + ")");
    return;
  }
  BottleInput in = world_.observe(b);
  Plan plan = plan_bottle(in);
  if (plan.pending) {
    // A VM whose booted policy is not known yet: look again when its pending window closes (the
    // VM is then judged, and killed if agent.pid still does not name it), or sooner on an event.
    std::int64_t wait_ms = 0;
    for (const auto& [_, obs] : in.observed) {
      if (obs.vm && obs.vm->booted.kind == Policy::Kind::Pending) wait_ms = std::max(wait_ms, obs.vm->pending_ms);
    }
    spdlog::debug("bottle {}: {}; looking again in {} ms", b.name, *plan.pending, wait_ms + 1);
    queue_.add_after(b.name, std::chrono::milliseconds(wait_ms + 1));
  }
  b.plan_error = plan.error;
  b.plan = std::move(plan.actions);
  b.next_action = 0;
  if (b.plan.empty()) {
    b.settled = !b.plan_error && !plan.pending;
    finish(b, std::nullopt);
    return;
  }
  for (const Action& a : b.plan) spdlog::debug("bottle {}: plan {}", b.name, to_string(a));
  run_actions(b);
}

void BottleRounds::run_actions(Bottle& b) {
  while (b.next_action < b.plan.size()) {
    const Action a = b.plan[b.next_action++];
    if (a.kind == Action::Kind::WaitUntil) {
      wait_until(b, a);
      return;
    }
    Executed e = world_.execute(b, a);
    switch (e.kind) {
      case Executed::Kind::Next: continue;
      case Executed::Kind::Async: return;  // the world calls resume() or fail()
      case Executed::Kind::Failed: finish(b, std::move(e.error)); return;
    }
  }
  replan(b);  // come round again: re-observe and re-plan
}

// A restart backoff: the step ends here, without an error, and the bottle comes back when the
// restart is due (sooner on an event: an add supersedes the delay).
void BottleRounds::wait_until(Bottle& b, const Action& a) {
  auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(a.not_before - time_.now());
  spdlog::info("bottle {}: restarting {} in {} ms (backoff after {} exits, {} unconfined starts)", b.name, a.machine,
               delay.count(), b.restarts.exits, b.restarts.unconfined_starts);
  queue_.done(b.name);
  queue_.add_after(b.name, delay);
  world_.step_ended(b, false);
}

void BottleRounds::finish(Bottle& b, std::optional<std::string> error) {
  b.exec_error = error;
  std::optional<std::string> shown = error ? error : b.plan_error;
  if (shown && *shown != b.last_reported_error) world_.report_error(b, *shown);
  b.last_reported_error = shown.value_or("");
  if (shown) {
    auto delay = queue_.done_failed(b.name);
    spdlog::debug("bottle {}: retry in {} ms", b.name, delay.count());
  } else {
    queue_.done(b.name);
    queue_.forget(b.name);
  }
  world_.step_ended(b, shown.has_value());  // `b` may be gone from here
}

}  // namespace bs::supervisor
