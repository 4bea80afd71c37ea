#include "reconcile/plan.h"

#include <algorithm>
#include <sstream>

namespace bs {
namespace {

using K = Action::Kind;

Action make(K kind, const std::string& machine) {
  Action a{};
  a.kind = kind;
  a.machine = machine;
  return a;
}

Action kill_action(const std::string& machine, std::int64_t pid, std::uint64_t start_time,
                   KillReason reason, std::string detail) {
  Action a = make(K::Kill, machine);
  a.pid = pid;
  a.start_time = start_time;
  a.reason = reason;
  a.detail = std::move(detail);
  return a;
}

const MachineObservation* find_obs(const BottleInput& in, const std::string& machine) {
  auto it = in.observed.find(machine);
  return it == in.observed.end() ? nullptr : &it->second;
}

// Removal of one managed machine (CONTRACT §6.7): stop, then delete or quarantine, then forget.
// Returns false when the machine cannot be acted on now (the reason goes to plan.error).
void plan_removal(const BottleInput& in, const Managed& m, Plan& p) {
  const MachineObservation* obs = find_obs(in, m.machine);
  if (obs == nullptr || obs->row == MachineObservation::Row::Missing) {
    if (obs != nullptr && obs->vm) {
      p.actions.push_back(kill_action(m.machine, obs->vm->pid, obs->vm->start_time, KillReason::Unverifiable,
                                      "pid " + std::to_string(obs->vm->pid) + ": the machine's row is gone"));
    }
    p.actions.push_back(make(K::Forget, m.machine));
    return;
  }
  if (obs->row == MachineObservation::Row::DbUnavailable) {
    if (auto kill = drift_kill(m.machine, *obs, std::nullopt)) p.actions.push_back(*kill);
    p.error = "cannot remove machine '" + m.machine + "': " + obs->problem;
    return;
  }
  if (obs->vm) p.actions.push_back(make(K::Stop, m.machine));
  if (m.on_remove == OnRemove::Delete) {
    p.actions.push_back(make(K::Delete, m.machine));
    return;
  }
  if (obs->row == MachineObservation::Row::Unreadable) {
    p.error = "cannot quarantine machine '" + m.machine + "': " + obs->problem;
    return;
  }
  p.actions.push_back(make(K::Quarantine, m.machine));
  p.actions.push_back(make(K::Forget, m.machine));
}

void plan_all_removed(const BottleInput& in, Plan& p) {
  for (const Managed& m : in.managed) plan_removal(in, m, p);
  if (p.error) return;
  bool all_forgotten = std::all_of(in.managed.begin(), in.managed.end(), [&](const Managed& m) {
    return std::any_of(p.actions.begin(), p.actions.end(),
                       [&](const Action& a) { return a.kind == K::Forget && a.machine == m.machine; });
  });
  if (all_forgotten && in.lease) p.actions.push_back(make(K::ReleaseLease, ""));
}

}  // namespace

std::string Policy::str() const {
  switch (kind) {
    case Kind::Unrestricted: return "null (unrestricted)";
    case Kind::List: return to_string(list);
    case Kind::Invalid: return "unreadable (" + error + ")";
    case Kind::Pending: return "pending (" + error + ")";
  }
  return "?";
}

MachineShape shape_of(const BottleSpec& s) { return MachineShape{s.image, s.from, s.cpus, s.memory_mib}; }

std::string machine_fingerprint(const MachineShape& s) {
  std::string f = s.image ? "image=" + *s.image : "from=" + s.from.value_or("");
  f += " cpus=" + std::to_string(s.cpus) + " memory=" + std::to_string(s.memory_mib);
  return f;
}

std::string machine_fingerprint(const BottleSpec& s) { return machine_fingerprint(shape_of(s)); }

std::string describe_fingerprint_change(const std::string& before, const std::string& after) {
  auto fields = [](const std::string& f) {
    std::vector<std::string> out;
    std::istringstream in(f);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  auto b = fields(before), a = fields(after);
  std::string out;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < b.size() ? b[i] : "", y = i < a.size() ? a[i] : "";
    if (x == y) continue;
    if (!out.empty()) out += ", ";
    out += x + " -> " + y;
  }
  return out;
}

Allowlist desired_allowlist(const BottleSpec& spec, Ipv4 lease) {
  std::vector<Cidr> all(spec.egress_allow.begin(), spec.egress_allow.end());
  all.push_back(host_cidr(lease));
  return make_allowlist(std::move(all));
}

std::optional<Action> drift_kill(const std::string& machine, const MachineObservation& obs,
                                 const std::optional<Allowlist>& desired) {
  if (!obs.vm) return std::nullopt;
  const RunningVm& vm = *obs.vm;
  std::string pid = "pid " + std::to_string(vm.pid);
  if (!desired) {
    return kill_action(machine, vm.pid, vm.start_time, KillReason::Unverifiable,
                       pid + ": no desired allowlist to verify against (no lease)");
  }
  // A start in flight: not yet known, not yet killed. The window is short and bounded (the
  // observer turns it into Invalid when it closes), and the VM is judged again when it does or
  // as soon as agent.pid names it.
  if (vm.booted.kind == Policy::Kind::Pending) return std::nullopt;
  if (vm.booted.kind == Policy::Kind::Invalid) {
    return kill_action(machine, vm.pid, vm.start_time, KillReason::Unverifiable,
                       pid + ": booted policy " + vm.booted.str() + ", desired " + to_string(*desired));
  }
  if (!vm.booted.equals(*desired)) {
    return kill_action(machine, vm.pid, vm.start_time, KillReason::Drift,
                       pid + ": booted with " + vm.booted.str() + ", desired " + to_string(*desired));
  }
  return std::nullopt;
}

namespace {

// While its spec file is absent but the removal grace has not passed, a bottle is held: nothing
// new is begun for it (no lease, machine, adoption, start, stop or recreate: a spec deleted for
// good must not first get a machine only to lose it two seconds later), but its confinement is
// still kept: drifted, unverifiable and stray VMs are killed, its row is patched, and what the
// supervisor recorded stays true. A rewritten spec ends the hold at once.
bool allowed_while_absent(K kind) {
  switch (kind) {
    case K::Kill:
    case K::Patch:
    case K::RecordVerified:
    case K::RecordExit:
      return true;
    default:
      return false;
  }
}

Plan plan_full(const BottleInput& in) {
  Plan p;
  auto& out = p.actions;

  if (in.removed || !in.spec) {
    if (!in.spec && !in.removed) {
      // Never valid (or its last valid state was lost): nothing is created or adopted, but a
      // machine we already manage keeps running only if its confinement can be confirmed,
      // which it cannot without a desired allowlist.
      p.error = in.spec_error.value_or("no valid spec");
      for (const Managed& m : in.managed) {
        if (const MachineObservation* o = find_obs(in, m.machine)) {
          if (auto kill = drift_kill(m.machine, *o, std::nullopt)) out.push_back(*kill);
        }
      }
      return p;
    }
    plan_all_removed(in, p);
    return p;
  }

  const BottleSpec& spec = *in.spec;
  if (in.spec_error) p.error = *in.spec_error;

  // 1. Lease.
  if (!in.lease || (spec.loopback && *in.lease != *spec.loopback)) {
    Action a = make(K::AcquireLease, "");
    a.address = spec.loopback;
    out.push_back(a);
    return p;
  }
  const Allowlist desired = desired_allowlist(spec, *in.lease);

  // A renamed machine: the old one is removed per its on_remove, keeping the lease.
  for (const Managed& m : in.managed) {
    if (m.machine != spec.machine) plan_removal(in, m, p);
  }

  const std::string& name = spec.machine;
  const MachineObservation* obs = find_obs(in, name);
  const Managed* managed = nullptr;
  for (const Managed& m : in.managed) {
    if (m.machine == name) managed = &m;
  }

  if (obs == nullptr || obs->row == MachineObservation::Row::DbUnavailable) {
    if (obs != nullptr) {
      if (auto kill = drift_kill(name, *obs, desired)) out.push_back(*kill);
    }
    p.error = "cannot verify: " + (obs ? obs->problem : std::string("machine not observed"));
    return p;
  }

  // 2. Create or adopt.
  if (obs->row == MachineObservation::Row::Missing) {
    if (obs->vm) {
      // Its row is gone: nothing says what it booted with is still what smolvm would restart.
      out.push_back(kill_action(name, obs->vm->pid, obs->vm->start_time, KillReason::Unverifiable,
                                "pid " + std::to_string(obs->vm->pid) + ": the machine's row is gone"));
    }
    if (in.machines_of_others.count(name) != 0) {
      p.error = "machine '" + name + "' is managed by another bottle";
      return p;
    }
    Action a = make(K::Create, name);
    a.allowlist = desired;
    a.shape = shape_of(spec);
    a.on_remove = spec.on_remove;
    out.push_back(a);
    return p;
  }
  if (managed == nullptr) {
    if (in.machines_of_others.count(name) != 0) {
      p.error = "machine '" + name + "' is managed by another bottle";
      return p;
    }
    // Its shape is not known: what the spec says is recorded, so only a later edit recreates it.
    Action a = make(K::Adopt, name);
    a.shape = shape_of(spec);
    a.on_remove = spec.on_remove;
    out.push_back(a);
  } else if (managed->on_remove != spec.on_remove) {
    Action a = make(K::Remember, name);
    a.on_remove = spec.on_remove;
    out.push_back(a);
  }

  // A new image/from/cpus/memory recreates the machine, unless its disk is to be kept.
  if (managed != nullptr && managed->fingerprint != machine_fingerprint(spec)) {
    std::string change = describe_fingerprint_change(managed->fingerprint, machine_fingerprint(spec));
    if (spec.on_remove == OnRemove::Delete) {
      if (obs->vm) out.push_back(make(K::Stop, name));
      Action del = make(K::Delete, name);
      del.detail = "recreate: " + change;
      out.push_back(del);
      return p;
    }
    p.error = "spec changed (" + change + ") but on_remove = \"keep\": the machine is not recreated; "
              "to recreate it (its disk is lost), run: smolvm machine delete --name " + name + " -f";
  }

  // 4 (first, "at once"). The running VM must have booted with the desired policy.
  bool running = obs->vm.has_value();
  RestartHistory history = in.restarts;
  if (auto kill = drift_kill(name, *obs, desired)) {
    out.push_back(*kill);
    history.record_kill(in.now);
    running = false;
  } else if (running && obs->vm->booted.kind == Policy::Kind::Pending) {
    p.pending = "pid " + std::to_string(obs->vm->pid) + ": booted policy " + obs->vm->booted.str();
  } else if (running) {
    auto v = in.verified.find(name);
    if (v == in.verified.end() || v->second.pid != obs->vm->pid ||
        v->second.start_time != obs->vm->start_time || v->second.allowlist != desired) {
      Action a = make(K::RecordVerified, name);
      a.pid = obs->vm->pid;
      a.start_time = obs->vm->start_time;
      a.allowlist = desired;
      out.push_back(a);
    }
  }
  if (obs->superseded) {
    // The row moved on to another pid (or none) while the VM we verified still runs.
    const StrayVm& old = *obs->superseded;
    out.push_back(kill_action(name, old.pid, old.start_time, KillReason::Stray,
                              "pid " + std::to_string(old.pid) + " is the VM of " + name +
                                  " verified earlier, which the row no longer references"));
  } else if (!obs->vm && in.verified.count(name) != 0) {
    Action a = make(K::RecordExit, name);
    a.pid = in.verified.at(name).pid;
    out.push_back(a);
    history.record_exit(in.now);
  } else if (!obs->vm && in.restarts.start_unverified && obs->row == MachineObservation::Row::Ok) {
    // The VM of our last start is gone before it was ever verified (it crashed while booting, or
    // right after smolvm called it ready): an exit all the same, or a VM that dies at once would
    // be restarted at once, for ever.
    Action a = make(K::RecordExit, name);
    a.detail = "the VM of the last start exited before it was verified";
    out.push_back(a);
    history.record_exit(in.now);
  }

  // 8. Stray _boot-vm processes of this machine that the row does not reference.
  if (auto s = in.strays.find(name); s != in.strays.end()) {
    for (const StrayVm& st : s->second) {
      if (obs->vm && obs->vm->pid == st.pid) continue;
      if (obs->superseded && obs->superseded->pid == st.pid) continue;  // killed above
      out.push_back(kill_action(name, st.pid, st.start_time, KillReason::Stray,
                                "pid " + std::to_string(st.pid) + " is a _boot-vm for " + name +
                                    " that the row does not reference"));
    }
  }

  // 3. Confine the row.
  if (obs->row == MachineObservation::Row::Unreadable) {
    p.error = "cannot verify: " + obs->problem;
    return p;
  }
  if (!obs->allowed.equals(desired)) {
    Action a = make(K::Patch, name);
    a.allowlist = desired;
    a.detail = "row had " + obs->allowed.str();
    out.push_back(a);
  }

  // 5/6. Converge the run state; restarts after exits wait out the backoff.
  if (spec.state == RunState::Running && !running) {
    auto not_before = restart_not_before(history, in.backoff_initial, in.backoff_max);
    if (not_before && *not_before > in.now) {
      Action a = make(K::WaitUntil, name);
      a.not_before = *not_before;
      out.push_back(a);
    } else if (!in.lease_conflicts.empty()) {
      p.error = "not started: " + describe_lease_conflicts(in.lease_conflicts);
    } else {
      out.push_back(make(K::Start, name));
    }
  } else if (spec.state == RunState::Stopped && running) {
    out.push_back(make(K::Stop, name));
  }
  return p;
}

}  // namespace

Plan plan_bottle(const BottleInput& in) {
  Plan p = plan_full(in);
  if (in.held || (in.absent && !in.removed)) {
    std::erase_if(p.actions, [](const Action& a) { return !allowed_while_absent(a.kind); });
  }
  return p;
}

std::string to_string(Actual a) {
  switch (a) {
    case Actual::Running: return "running";
    case Actual::Stopped: return "stopped";
    case Actual::Missing: return "missing";
    case Actual::Unknown: return "unknown";
  }
  return "unknown";
}

std::string to_string(Confinement c) {
  switch (c) {
    case Confinement::Verified: return "verified";
    case Confinement::Pending: return "pending";
    case Confinement::Drifted: return "drifted";
    case Confinement::Unverifiable: return "unverifiable";
    case Confinement::NotApplicable: return "n/a";
  }
  return "n/a";
}

Assessment assess(const MachineObservation* obs, const std::optional<Allowlist>& desired) {
  using Row = MachineObservation::Row;
  if (obs == nullptr || obs->row == Row::Missing) return {Actual::Missing, Confinement::NotApplicable};
  if (obs->row == Row::DbUnavailable || obs->row == Row::Unreadable) {
    return {obs->vm ? Actual::Running : Actual::Unknown, Confinement::Unverifiable};
  }
  Assessment a;
  a.actual = obs->vm ? Actual::Running : Actual::Stopped;
  if (!desired) {
    a.confinement = obs->vm ? Confinement::Unverifiable : Confinement::Pending;
  } else if (obs->vm && obs->vm->booted.kind == Policy::Kind::Invalid) {
    a.confinement = Confinement::Unverifiable;
  } else if (obs->vm && obs->vm->booted.kind == Policy::Kind::Pending) {
    a.confinement = Confinement::Pending;
  } else if (obs->vm && !obs->vm->booted.equals(*desired)) {
    a.confinement = Confinement::Drifted;
  } else {
    a.confinement = obs->allowed.equals(*desired) ? Confinement::Verified : Confinement::Pending;
  }
  return a;
}

std::string to_string(const Action& a) {
  static const char* const kNames[] = {"acquire-lease", "release-lease", "create", "adopt", "remember",
                                       "patch", "quarantine", "kill", "start", "stop", "delete",
                                       "forget", "record-verified", "record-exit", "wait-until"};
  std::string s = kNames[static_cast<int>(a.kind)];
  if (!a.machine.empty()) s += " machine=" + a.machine;
  if (a.address) s += " address=" + a.address->str();
  if (!a.allowlist.empty()) s += " allowlist=" + to_string(a.allowlist);
  if (a.kind == K::Kill || a.kind == K::RecordVerified || a.kind == K::RecordExit) {
    s += " pid=" + std::to_string(a.pid);
  }
  if (a.kind == K::Kill) {
    s += a.reason == KillReason::Drift ? " reason=drift"
         : a.reason == KillReason::Stray ? " reason=stray" : " reason=unverifiable";
  }
  return s;
}

}  // namespace bs
