// One reconcile step for one bottle: observe, plan, execute, and come round again until the
// plan is empty (level-triggered). The work queue guarantees one step per bottle at a time.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "supervisor/bottle_verdict.h"
#include "supervisor/supervisor.h"

namespace bs::supervisor {
namespace {

// A step that keeps producing actions is not converging (e.g. something undoes each patch at
// once): give up on this step, report it, and retry with backoff.
constexpr int kMaxRounds = 12;

}  // namespace

Bottle& Supervisor::bottle(const std::string& name) {
  auto [it, inserted] = bottles_.try_emplace(name);
  if (inserted) it->second.name = name;
  return it->second;
}

std::optional<Allowlist> Supervisor::desired_of(const Bottle& b) const {
  auto lease = records_.lease_of(b.name);
  if (!b.spec || !lease) return std::nullopt;
  return desired_allowlist(*b.spec, *lease);
}

std::vector<std::string> Supervisor::machines_of(const Bottle& b) const {
  const std::set<std::string>& mine = records_.managed().of_bottle(b.name);
  std::vector<std::string> out(mine.begin(), mine.end());
  if (b.spec && std::find(out.begin(), out.end(), b.spec->machine) == out.end()) {
    out.push_back(b.spec->machine);
  }
  return out;
}

std::optional<std::string> Supervisor::bottle_of_machine(const std::string& machine) const {
  if (auto it = records_.managed().find(machine); it != records_.managed().end()) return it->second.bottle;
  if (auto it = spec_machine_owners_.find(machine); it != spec_machine_owners_.end() && !it->second.empty()) {
    return *it->second.begin();
  }
  return std::nullopt;
}

BottleInput Supervisor::build_input(Bottle& b) {
  BottleInput in;
  in.name = b.name;
  in.spec = b.spec;
  in.spec_error = b.spec_error;
  in.held = specs_.problem().has_value();
  in.absent = removal_.absent(b.name);
  in.removed = !in.held && removal_.removed(b.name);
  in.lease = records_.lease_of(b.name);
  for (const std::string& m : records_.managed().of_bottle(b.name)) {
    const store::ManagedMachine& mm = records_.managed().find(m)->second;
    in.managed.push_back(Managed{m, mm.origin == store::Origin::Adopted, mm.on_remove, mm.fingerprint});
  }
  // No DB open (there was none at the last look): smolvm may have created it since, before our
  // watch on its folder exists. Look now rather than take "no rows" for "no machine": a VM found
  // through agent.pid with its row thought gone would be killed.
  if (!rows_.open()) on_rows_changed(rows_.refresh(false));
  rows_.freshen(machines_of(b));  // the snapshot may predate our own last command
  for (const std::string& m : machines_of(b)) {
    std::optional<Verified> v;
    if (auto it = records_.verified().find(m); it != records_.verified().end()) {
      v = Verified{it->second.pid, it->second.start_time, it->second.allowlist};
      in.verified[m] = *v;
    }
    in.observed[m] = observe_machine(m, rows_.rows(), settings_.smolvm, v, vm_watch_.processes());
    if (auto s = vm_watch_.strays().find(m); s != vm_watch_.strays().end()) in.strays[m] = s->second;
  }
  // Only this bottle's own machines matter: are any of them claimed by another bottle?
  for (const auto& [m, _] : in.observed) {
    if (auto it = records_.managed().find(m); it != records_.managed().end() && it->second.bottle != b.name) {
      in.machines_of_others.insert(m);
    }
    if (auto it = spec_machine_owners_.find(m); it != spec_machine_owners_.end()) {
      for (const std::string& owner : it->second) {
        if (owner != b.name) in.machines_of_others.insert(m);
      }
    }
  }
  in.lease_conflicts = lease_conflicts_of(b.name);
  in.restarts = b.restarts;
  in.backoff_initial = settings_.config.backoff_initial;
  in.backoff_max = settings_.config.backoff_max;
  in.now = Clock::now();
  return in;
}

void Supervisor::process(const std::string& name) {
  auto it = bottles_.find(name);
  if (stopping_ || it == bottles_.end()) {
    // A bottle forgotten (spec gone, everything cleaned up) while its name was still queued:
    // there is nothing left to do for it, and no empty bottle must be made up for it.
    queue_.done(name);
    return;
  }
  Bottle& b = it->second;
  b.rounds = 0;
  b.exec_error.reset();
  b.settled = false;
  plan_round(b);
}

void Supervisor::plan_round(Bottle& b, bool count_round) {
  if (stopping_) {
    queue_.done(b.name);
    maybe_finish_shutdown();
    return;
  }
  if (count_round && ++b.rounds > kMaxRounds) {
    finish(b, "not converging: the plan keeps changing (last: " +
                  (b.plan.empty() ? std::string("-") : to_string(b.plan.back())) + ")");
    return;
  }
  BottleInput in = build_input(b);
  if (!in.held && in.absent && !in.removed) {
    // Still inside the removal grace (the loop's clock may run a little behind the timer that
    // woke us): look again when it has really passed.
    removal_.rearm(b.name);
  }
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

void Supervisor::run_actions(Bottle& b) {
  while (b.next_action < b.plan.size()) {
    const Action a = b.plan[b.next_action++];
    if (a.kind == Action::Kind::WaitUntil) {
      auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(a.not_before - Clock::now());
      spdlog::info("bottle {}: restarting {} in {} ms (backoff after {} exits, {} unconfined starts)", b.name,
                   a.machine, delay.count(), b.restarts.exits, b.restarts.unconfined_starts);
      queue_.done(b.name);
      queue_.add_after(b.name, delay);
      update_notify_status();
      check_pass_waiters();
      return;
    }
    switch (execute(b, a)) {
      case Step::Next: continue;
      case Step::Async: return;  // on_smolvm_done continues
      case Step::Stop: return;   // execute() called finish()
    }
  }
  plan_round(b);  // come round again: re-observe and re-plan
}

void Supervisor::finish(Bottle& b, std::optional<std::string> error) {
  sync_vm_dirs();  // a machine created, adopted or forgotten in this step: watch its data dir
  b.exec_error = error;
  std::optional<std::string> shown = error ? error : b.plan_error;
  if (shown && *shown != b.last_reported_error) {
    ++stats_.counters.errors;
    std::string machine = b.spec ? b.spec->machine : "";
    event(b.name, machine, "error", *shown);  // logged by event(), at err priority
  }
  b.last_reported_error = shown.value_or("");
  if (shown) {
    auto delay = queue_.done_failed(b.name);
    spdlog::debug("bottle {}: retry in {} ms", b.name, delay.count());
  } else {
    queue_.done(b.name);
    queue_.forget(b.name);
  }
  // A bottle whose spec is gone and whose machines and lease are cleaned up is forgotten.
  bool gone = !b.file_present && removal_.absent(b.name) && !shown && records_.leases().count(b.name) == 0 &&
              records_.managed().of_bottle(b.name).empty() && !removal_.running(b.name);
  if (gone && !queue_.scheduled(b.name)) {
    if (b.spec) spec_machine_owners_[b.spec->machine].erase(b.name);
    if (auto err = records_.forget_spec(b.name)) spdlog::warn("bottle {}: {}", b.name, *err);
    removal_.end(b.name);
    vm_watch_.unwatch_exit(b.name);
    bottles_.erase(b.name);  // `b` is dead from here
  }
  update_notify_status();
  check_pass_waiters();
  maybe_finish_shutdown();
}

bool Supervisor::converged(const Bottle& b) const {
  // From the last step's plan, not a fresh one: cheap enough to ask for every bottle after every
  // step. `settled`: that plan was empty, without an error or a pending VM.
  BottleFacts f;
  f.busy = queue_.processing(b.name);
  f.plan_empty = b.settled;
  f.spec_error = b.spec_error;
  f.exec_error = b.exec_error;
  f.plan_error = b.plan_error;
  f.folder_problem = specs_.problem();
  if (removal_.absent(b.name)) f.removal = "spec file removed";
  return judge_bottle(f).converged;
}

}  // namespace bs::supervisor
