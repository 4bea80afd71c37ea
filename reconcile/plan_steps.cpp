// The steps of CONTRACT.md §6 for the machine a bottle's spec names, in the order plan_full runs
// them (plan.cpp). The order is not the contract's numbering: the running VM is judged (4) and
// strays are killed (8) before the row is patched (3), because a kill must not wait on anything.
#include "reconcile/plan_steps.h"
#include "reconcile/booted_verdict.h"

namespace bs::plan_steps {


const MachineObservation* find_obs(const BottleInput& in, const std::string& machine) {
  auto it = in.observed.find(machine);
  return it == in.observed.end() ? nullptr : &it->second;
}

SpecMachine spec_machine(const BottleInput& in, Allowlist desired) {
  const BottleSpec& spec = *in.spec;
  const Managed* managed = nullptr;
  for (const Managed& m : in.managed) {
    if (m.machine == spec.machine) managed = &m;
  }
  return SpecMachine{in, spec, std::move(desired), spec.machine, find_obs(in, spec.machine), managed, false,
                     in.restarts};
}

Flow lease(const BottleInput& in, Plan& p) {
  const BottleSpec& spec = *in.spec;
  if (!in.lease || (spec.loopback && *in.lease != *spec.loopback)) {
    p.actions.push_back(Action::acquire_lease(spec.loopback));
    return Flow::Done;
  }
  return Flow::Go;
}

Flow db_available(const SpecMachine& m, Plan& p) {
  if (m.obs == nullptr || m.obs->row == MachineObservation::Row::DbUnavailable) {
    // A machine of another bottle that this one does not manage is that bottle's to judge, by its
    // own allowlist: with the DB readable this bottle leaves it alone, and an unreadable DB must
    // not make it kill a VM its owner verified.
    const bool of_another = m.managed == nullptr && m.in.machines_of_others.count(m.name) != 0;
    if (m.obs != nullptr && !of_another) {
      if (auto kill = drift_kill(m.name, *m.obs, m.desired)) p.actions.push_back(*kill);
    }
    p.error = "cannot verify: " + (m.obs ? m.obs->problem : std::string("machine not observed"));
    return Flow::Done;
  }
  return Flow::Go;
}

Flow create_or_adopt(const SpecMachine& m, Plan& p) {
  const MachineObservation& obs = *m.obs;
  if (obs.row == MachineObservation::Row::Missing) {
    if (obs.vm) {
      // Its row is gone: nothing says what it booted with is still what smolvm would restart.
      p.actions.push_back(Action::kill(m.name, obs.vm->pid, obs.vm->start_time, KillReason::Unverifiable,
                                      "pid " + std::to_string(obs.vm->pid) + ": the machine's row is gone"));
    }
    if (m.in.machines_of_others.count(m.name) != 0) {
      p.error = "machine '" + m.name + "' is managed by another bottle";
      return Flow::Done;
    }
    p.actions.push_back(Action::create(m.name, m.desired, shape_of(m.spec), m.spec.on_remove));
    return Flow::Done;
  }
  if (m.managed == nullptr) {
    if (m.in.machines_of_others.count(m.name) != 0) {
      p.error = "machine '" + m.name + "' is managed by another bottle";
      return Flow::Done;
    }
    // Its shape is not known: what the spec says is recorded, so only a later edit recreates it.
    p.actions.push_back(Action::adopt(m.name, shape_of(m.spec), m.spec.on_remove));
  } else if (m.managed->on_remove != m.spec.on_remove) {
    p.actions.push_back(Action::remember(m.name, m.spec.on_remove));
  }
  return Flow::Go;
}

Flow recreate_on_shape_change(const SpecMachine& m, Plan& p) {
  if (m.managed == nullptr || m.managed->fingerprint == machine_fingerprint(m.spec)) return Flow::Go;
  std::string change = describe_fingerprint_change(m.managed->fingerprint, machine_fingerprint(m.spec));
  if (m.spec.on_remove == OnRemove::Delete) {
    if (m.obs->vm) p.actions.push_back(Action::stop(m.name));
    p.actions.push_back(Action::delete_machine(m.name, "recreate: " + change));
    return Flow::Done;
  }
  p.error = "spec changed (" + change + ") but on_remove = \"keep\": the machine is not recreated; "
            "to recreate it (its disk is lost), run: smolvm machine delete --name " + m.name + " -f";
  return Flow::Go;
}

void check_booted_policy(SpecMachine& m, Plan& p) {
  const MachineObservation& obs = *m.obs;
  m.running = obs.vm.has_value();
  if (auto kill = drift_kill(m.name, obs, m.desired)) {
    p.actions.push_back(*kill);
    m.history.record_kill(m.in.now);
    m.running = false;
  } else if (m.running && obs.vm->booted.kind == Policy::Kind::Pending) {
    p.pending = judge_booted(*obs.vm, m.desired).detail;
  } else if (m.running) {
    auto v = m.in.verified.find(m.name);
    if (v == m.in.verified.end() || v->second.pid != obs.vm->pid || v->second.start_time != obs.vm->start_time ||
        v->second.allowlist != m.desired) {
      p.actions.push_back(Action::record_verified(m.name, obs.vm->pid, obs.vm->start_time, m.desired));
    }
  }
}

void watch_vm(SpecMachine& m, Plan& p) {
  const MachineObservation& obs = *m.obs;
  if (obs.superseded) {
    // The row moved on to another pid (or none) while the VM we verified still runs.
    const StrayVm& old = *obs.superseded;
    p.actions.push_back(Action::kill(m.name, old.pid, old.start_time, KillReason::Stray,
                                    "pid " + std::to_string(old.pid) + " is the VM of " + m.name +
                                        " verified earlier, which the row no longer references"));
  } else if (!obs.vm && m.in.verified.count(m.name) != 0) {
    p.actions.push_back(Action::record_exit(m.name, m.in.verified.at(m.name).pid));
    m.history.record_exit(m.in.now);
  } else if (!obs.vm && m.in.restarts.start_unverified && obs.row == MachineObservation::Row::Ok) {
    // The VM of our last start is gone before it was ever verified (it crashed while booting, or
    // right after smolvm called it ready): an exit all the same, or a VM that dies at once would
    // be restarted at once, for ever.
    p.actions.push_back(Action::record_exit(m.name, 0, "the VM of the last start exited before it was verified"));
    m.history.record_exit(m.in.now);
  }
}

void kill_strays(const SpecMachine& m, Plan& p) {
  auto s = m.in.strays.find(m.name);
  if (s == m.in.strays.end()) return;
  const MachineObservation& obs = *m.obs;
  for (const StrayVm& st : s->second) {
    if (obs.vm && obs.vm->pid == st.pid) continue;
    if (obs.superseded && obs.superseded->pid == st.pid) continue;  // killed by watch_vm
    p.actions.push_back(Action::kill(m.name, st.pid, st.start_time, KillReason::Stray,
                                    "pid " + std::to_string(st.pid) + " is a _boot-vm for " + m.name +
                                        " that the row does not reference"));
  }
}

Flow confine_row(const SpecMachine& m, Plan& p) {
  const MachineObservation& obs = *m.obs;
  if (obs.row == MachineObservation::Row::Unreadable) {
    p.error = "cannot verify: " + obs.problem;
    return Flow::Done;
  }
  if (!obs.allowed.equals(m.desired)) {
    p.actions.push_back(Action::patch(m.name, m.desired, "row had " + obs.allowed.str()));
  }
  return Flow::Go;
}

void converge_run_state(const SpecMachine& m, Plan& p) {
  if (m.spec.state == RunState::Running && !m.running) {
    auto not_before = restart_not_before(m.history, m.in.backoff_initial, m.in.backoff_max);
    if (not_before && *not_before > m.in.now) {
      p.actions.push_back(Action::wait_until(m.name, *not_before));
    } else if (!m.in.lease_conflicts.empty()) {
      p.error = "not started: " + describe_lease_conflicts(m.in.lease_conflicts);
    } else {
      p.actions.push_back(Action::start(m.name));
    }
  } else if (m.spec.state == RunState::Stopped && m.running) {
    p.actions.push_back(Action::stop(m.name));
  }
}

}  // namespace bs::plan_steps
