// A model of the world one bottle's plans act on, for the planner's property test: smolvm's
// machines (rows and VMs), the supervisor's records (lease, managed machines, verified VMs,
// restart history) and the spec. `view()` is what the supervisor's observer would hand the
// planner; `apply()` carries out one action the way the executor and smolvm do, so a plan can be
// applied and the world planned again, as the daemon's rounds do.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "reconcile/plan.h"

namespace bs::test {

struct ModelWorld {
  BottleInput records;  // spec, flags, lease, managed, verified, strays, restarts, clock
  std::map<std::string, MachineObservation> machines;  // every machine smolvm has or had, by name
  std::set<std::string> others;         // machines managed or desired by other bottles
  std::set<std::string> visible_extra;  // also observed, though neither managed nor the spec's
  std::int64_t next_pid = 90000;        // pids of VMs the model starts

  // The machines the supervisor observes for this bottle: every managed one and the spec's.
  std::set<std::string> machines_of() const {
    std::set<std::string> out;
    for (const Managed& m : records.managed) out.insert(m.machine);
    if (records.spec) out.insert(records.spec->machine);
    return out;
  }

  // The planner's input, as the supervisor builds it: observations, verified records, strays and
  // "machines of others" for this bottle's machines only. A few unrelated machines may be
  // observed as well (visible_extra): the planner must leave them alone.
  BottleInput view() const {
    BottleInput in = records;
    in.observed.clear();
    in.verified.clear();
    in.strays.clear();
    in.machines_of_others.clear();
    std::set<std::string> mine = machines_of();
    for (const std::string& m : mine) {
      auto it = machines.find(m);
      in.observed[m] = it == machines.end() ? MachineObservation{} : it->second;
      if (auto v = records.verified.find(m); v != records.verified.end()) in.verified[m] = v->second;
      if (auto s = records.strays.find(m); s != records.strays.end() && !s->second.empty()) in.strays[m] = s->second;
    }
    for (const std::string& m : visible_extra) {
      if (auto it = machines.find(m); it != machines.end()) in.observed.emplace(m, it->second);
    }
    for (const auto& [m, _] : in.observed) {
      if (others.count(m) != 0) in.machines_of_others.insert(m);
    }
    return in;
  }

  MachineObservation& machine(const std::string& m) { return machines[m]; }

  Managed* managed(const std::string& m) {
    for (Managed& x : records.managed) {
      if (x.machine == m) return &x;
    }
    return nullptr;
  }

  // Records a machine as managed the way the executor does: a new record, or the existing one
  // rewritten with the action's shape.
  void remember(const Action& a, bool adopted) {
    Managed rec{a.machine, adopted, a.on_remove, machine_fingerprint(a.shape)};
    if (Managed* known = managed(a.machine)) {
      *known = rec;
    } else {
      records.managed.push_back(rec);
    }
  }

  void drop_verified(const std::string& m, std::int64_t pid = 0) {
    auto v = records.verified.find(m);
    if (v != records.verified.end() && (pid == 0 || v->second.pid == pid)) records.verified.erase(v);
  }

  enum class Applied {
    Next,     // go on with the plan's next action
    Replan,   // a smolvm command ran: the rest of the plan is stale, the daemon plans again
    Wait,     // a restart backoff: the step ends here, the bottle comes back at not_before
    Failed,   // the executor would report an error and end the step
  };

  Applied apply(const Action& a) {
    using K = Action::Kind;
    const TimePoint now = records.now;
    switch (a.kind) {
      case K::AcquireLease:
        records.lease = a.address ? *a.address : *parse_ipv4("127.0.0.16");
        return Applied::Next;
      case K::ReleaseLease:
        records.lease.reset();
        return Applied::Next;
      case K::Create: {
        MachineObservation& o = machine(a.machine);
        if (o.row != MachineObservation::Row::Missing) return Applied::Failed;  // "already exists"
        o = MachineObservation{};
        o.row = MachineObservation::Row::Ok;
        o.allowed = Policy::of(a.allowlist);  // smolvm stores the allowlist it is created with
        o.network = true;
        remember(a, false);
        return Applied::Replan;
      }
      case K::Adopt:
        remember(a, true);
        return Applied::Next;
      case K::Remember:
        if (Managed* m = managed(a.machine)) {
          m->on_remove = a.on_remove;
          return Applied::Next;
        }
        return Applied::Failed;
      case K::Patch:
      case K::Quarantine: {
        MachineObservation& o = machine(a.machine);
        if (o.row != MachineObservation::Row::Ok) return Applied::Failed;  // "cannot verify"
        o.allowed = Policy::of(a.kind == K::Patch ? a.allowlist : Allowlist{});
        if (a.kind == K::Quarantine) o.network = false;
        return Applied::Next;
      }
      case K::Kill: {
        MachineObservation& o = machine(a.machine);
        if (o.vm && o.vm->pid == a.pid && o.vm->start_time == a.start_time) {
          o.vm.reset();
          o.pid_note = "pid " + std::to_string(a.pid) + " is gone";
        }
        if (o.superseded && o.superseded->pid == a.pid) o.superseded.reset();
        if (auto s = records.strays.find(a.machine); s != records.strays.end()) {
          std::erase_if(s->second, [&](const StrayVm& v) { return v.pid == a.pid; });
        }
        records.restarts.record_kill(now);
        drop_verified(a.machine, a.pid);
        return Applied::Next;
      }
      case K::Start: {
        MachineObservation& o = machine(a.machine);
        if (o.row != MachineObservation::Row::Ok || o.vm) return Applied::Failed;
        // smolvm boots the VM with what the row allows at this moment.
        Policy booted = o.allowed.kind == Policy::Kind::List ? o.allowed : Policy::unrestricted();
        std::int64_t pid = next_pid++;
        o.vm = RunningVm{pid, static_cast<std::uint64_t>(pid) * 7 + 3, booted, 0};
        o.pid_note.reset();
        records.restarts.record_start(now);
        return Applied::Replan;
      }
      case K::Stop: {
        MachineObservation& o = machine(a.machine);
        // smolvm's stop writes back the record it read at the start: the row allows again what
        // the VM booted with (the planner re-patches it if the desired allowlist moved since).
        if (o.vm && o.row == MachineObservation::Row::Ok && o.vm->booted.kind != Policy::Kind::Invalid &&
            o.vm->booted.kind != Policy::Kind::Pending) {
          o.allowed = o.vm->booted;
        }
        o.vm.reset();
        o.pid_note.reset();
        drop_verified(a.machine);
        return Applied::Replan;
      }
      case K::Delete:
        machine(a.machine) = MachineObservation{};  // smolvm stops its VM and drops the row
        drop_verified(a.machine);
        return Applied::Replan;
      case K::Forget:
        std::erase_if(records.managed, [&](const Managed& m) { return m.machine == a.machine; });
        drop_verified(a.machine);
        return Applied::Next;
      case K::RecordVerified: {
        auto v = records.verified.find(a.machine);
        bool new_vm = v == records.verified.end() || v->second.pid != a.pid || v->second.start_time != a.start_time;
        records.verified[a.machine] = Verified{a.pid, a.start_time, a.allowlist};
        if (new_vm) {
          if (!records.restarts.last_start) records.restarts.record_start(now);
          records.restarts.record_verified();
        }
        return Applied::Next;
      }
      case K::RecordExit:
        drop_verified(a.machine);
        records.restarts.record_exit(now);
        return Applied::Next;
      case K::WaitUntil:
        return Applied::Wait;
    }
    return Applied::Failed;
  }
};

// A world in words, for the message of a failed property.
inline std::string describe(const BottleInput& in) {
  std::ostringstream o;
  o << "bottle " << in.name;
  if (in.spec) {
    const BottleSpec& s = *in.spec;
    o << ": spec machine=" << s.machine << " state=" << to_string(s.state) << " on_remove=" << to_string(s.on_remove)
      << " " << machine_fingerprint(s) << " egress=" << to_string(s.egress_allow);
    if (s.loopback) o << " loopback=" << s.loopback->str();
  } else {
    o << ": no spec";
  }
  if (in.spec_error) o << "; spec error";
  if (in.removed) o << "; removed";
  if (in.absent) o << "; absent";
  if (in.held) o << "; held";
  o << "\n  lease " << (in.lease ? in.lease->str() : "none");
  for (const LeaseConflict& c : in.lease_conflicts) o << "; lease conflict with " << c.machine;
  for (const Managed& m : in.managed) {
    o << "\n  managed " << m.machine << (m.adopted ? " (adopted)" : "") << " on_remove=" << to_string(m.on_remove)
      << " " << m.fingerprint;
  }
  for (const auto& [m, obs] : in.observed) {
    static const char* const kRows[] = {"db-unavailable", "missing", "unreadable", "ok"};
    o << "\n  observed " << m << ": row " << kRows[static_cast<int>(obs.row)];
    if (obs.row == MachineObservation::Row::Ok) o << " allows " << obs.allowed.str() << (obs.network ? "" : " no-net");
    if (obs.vm) o << ", vm pid " << obs.vm->pid << "/" << obs.vm->start_time << " booted " << obs.vm->booted.str();
    if (obs.pid_note) o << ", pid note";
    if (obs.superseded) o << ", superseded pid " << obs.superseded->pid << "/" << obs.superseded->start_time;
    if (in.machines_of_others.count(m) != 0) o << " [of others]";
  }
  for (const auto& [m, v] : in.verified) {
    o << "\n  verified " << m << ": pid " << v.pid << "/" << v.start_time << " " << to_string(v.allowlist);
  }
  for (const auto& [m, list] : in.strays) {
    for (const StrayVm& s : list) o << "\n  stray of " << m << ": pid " << s.pid << "/" << s.start_time;
  }
  const RestartHistory& h = in.restarts;
  auto ago = [&](const std::optional<TimePoint>& t) {
    return t ? std::to_string(std::chrono::duration_cast<Millis>(in.now - *t).count()) + " ms ago" : std::string("-");
  };
  o << "\n  restarts: exits " << h.exits << ", last start " << ago(h.last_start) << ", last exit " << ago(h.last_exit)
    << (h.skip_backoff ? ", skip backoff" : "") << (h.start_unverified ? ", start unverified" : "")
    << ", unconfined starts " << h.unconfined_starts << ", last unconfined kill " << ago(h.last_unconfined_kill);
  return o.str();
}

}  // namespace bs::test
