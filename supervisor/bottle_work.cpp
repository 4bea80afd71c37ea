// The daemon's side of a bottle's reconcile step: what the planner is shown (its input, built
// from the records, the row snapshot and the VM watch) and what happens when a step ends. The
// rounds themselves are BottleRounds (bottle_round.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "supervisor/bottle_verdict.h"
#include "supervisor/supervisor.h"

namespace bs::supervisor {

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
  if (const auto& claims = bottles_.claims_on(machine); !claims.empty()) return *claims.begin();
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
    for (const std::string& owner : bottles_.claims_on(m)) {
      if (owner != b.name) in.machines_of_others.insert(m);
    }
  }
  in.lease_conflicts = lease_conflicts_of(b.name);
  in.restarts = b.restarts;
  in.backoff_initial = settings_.config.backoff_initial;
  in.backoff_max = settings_.config.backoff_max;
  in.now = time_.now();
  return in;
}

void Supervisor::process(const std::string& name) {
  Bottle* b = bottles_.find(name);
  if (stopping() || b == nullptr) {
    // A bottle forgotten (spec gone, everything cleaned up) while its name was still queued:
    // there is nothing left to do for it, and no empty bottle must be made up for it.
    queue_.done(name);
    return;
  }
  rounds_.begin(*b);
}

// ---- the rounds' world (BottleRounds runs the loop) --------------------------------------------

BottleInput Supervisor::observe(Bottle& b) {
  BottleInput in = build_input(b);
  if (!in.held && in.absent && !in.removed) {
    // Still inside the removal grace (the loop's clock may run a little behind the timer that
    // woke us): look again when it has really passed.
    removal_.rearm(b.name);
  }
  return in;
}

void Supervisor::report_error(Bottle& b, const std::string& error) {
  ++stats_.counters.errors;
  event(b.name, b.spec ? b.spec->machine : "", "error", error);  // logged by event(), at err priority
}

void Supervisor::step_ended(Bottle& b, bool failed) {
  sync_vm_dirs();  // a machine created, adopted or forgotten in this step: watch its data dir
  // A bottle whose spec is gone and whose machines and lease are cleaned up is forgotten.
  bool gone = !b.file_present && removal_.absent(b.name) && !failed && records_.leases().count(b.name) == 0 &&
              records_.managed().of_bottle(b.name).empty() && !removal_.running(b.name);
  if (gone && !queue_.scheduled(b.name)) {
    const std::string name = b.name;
    if (auto err = records_.forget_spec(name)) spdlog::warn("bottle {}: {}", name, *err);
    removal_.end(name);
    vm_watch_.unwatch_exit(name);
    bottles_.erase(name);  // `b` is dead from here, its claim on its spec's machine gone with it
  }
  hooks_.step_ended();
}

void Supervisor::step_abandoned(const std::string&) { hooks_.step_ended(); }

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
