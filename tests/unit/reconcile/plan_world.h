// A fluent builder of planner inputs, so a planner test states its world in one line:
//   World().lease().managed().row(own()).vm(42, own())
// is "bottle a, leased 127.0.0.16, its machine bottle-a created by us, the row allowing exactly
// the bottle's own /32, and VM pid 42 booted with that". Shared by the planner's table tests and
// its property test (the test binaries are unity builds: helpers shared by files live in headers).
#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include "reconcile/plan.h"
#include "test_values.h"

namespace bs::test {

inline const TimePoint kPlanNow = TimePoint{} + std::chrono::hours(100);

inline Allowlist allow(std::initializer_list<const char*> cidrs) {
  std::vector<Cidr> v;
  for (const char* c : cidrs) v.push_back(*parse_cidr(c));
  return make_allowlist(std::move(v));
}

// The spec the planner tests start from: bottle `name`, machine bottle-<name>, image alpine:3.20.
inline BottleSpec plain_spec(const std::string& name = "a") {
  BottleSpec s;
  s.name = name;
  s.path = "/specs/" + name + ".toml";
  s.machine = "bottle-" + name;
  s.image = "alpine:3.20";
  return s;
}

// A row that exists and is readable, allowing `allowed`, with or without its VM.
inline MachineObservation ok_row(Policy allowed, std::optional<RunningVm> vm = std::nullopt) {
  MachineObservation o;
  o.row = MachineObservation::Row::Ok;
  o.allowed = std::move(allowed);
  o.network = true;
  o.vm = std::move(vm);
  return o;
}

// A VM as the observer reports it: its start time is 1000 + pid throughout these tests.
inline RunningVm running_vm(std::int64_t pid, Policy booted) {
  return RunningVm{pid, 1000 + static_cast<std::uint64_t>(pid), std::move(booted), 0};
}

inline const Allowlist kOwn = allow({"127.0.0.16/32"});  // bottle a's own /32 on lease 127.0.0.16

// A bottle with lease .16, its machine managed (created by us with the spec's shape), spec as given.
inline BottleInput managed_bottle(const BottleSpec& s = plain_spec()) {
  BottleInput in;
  in.name = s.name;
  in.spec = s;
  in.lease = ip("127.0.0.16");
  in.managed.push_back(Managed{s.machine, false, s.on_remove, machine_fingerprint(s)});
  in.now = kPlanNow;
  return in;
}

class World {
 public:
  World() { in_.name = "a"; in_.now = kPlanNow; }

  // --- the spec ---
  World& spec(BottleSpec s) {
    in_.name = s.name;
    in_.spec = std::move(s);
    return *this;
  }
  World& spec() { return spec(plain_spec(in_.name)); }
  World& no_spec(std::string error) {
    in_.spec.reset();
    in_.spec_error = std::move(error);
    return *this;
  }
  World& spec_error(std::string error) {
    in_.spec_error = std::move(error);
    return *this;
  }
  World& state(RunState s) { return edit([&](BottleSpec& b) { b.state = s; }); }
  World& stopped() { return state(RunState::Stopped); }
  World& on_remove(OnRemove r) { return edit([&](BottleSpec& b) { b.on_remove = r; }); }
  World& keep() { return on_remove(OnRemove::Keep); }
  World& egress(Allowlist a) { return edit([&](BottleSpec& b) { b.egress_allow = std::move(a); }); }
  World& loopback(const char* address) { return edit([&](BottleSpec& b) { b.loopback = ip(address); }); }
  World& machine(std::string m) { return edit([&](BottleSpec& b) { b.machine = std::move(m); }); }
  World& image(std::string i) { return edit([&](BottleSpec& b) { b.image = std::move(i); }); }
  World& cpus(int n) { return edit([&](BottleSpec& b) { b.cpus = n; }); }

  // --- the spec file's presence ---
  World& absent() { in_.absent = true; return *this; }
  World& removed() { in_.removed = true; return *this; }
  World& held() { in_.held = true; return *this; }

  // --- the supervisor's records ---
  World& lease(const char* address = "127.0.0.16") { in_.lease = ip(address); return *this; }
  // The spec's machine, recorded as created by us with the spec's shape and on_remove.
  World& managed() {
    const BottleSpec& s = spec_or_plain();
    return managed(Managed{s.machine, false, s.on_remove, machine_fingerprint(s)});
  }
  World& managed(Managed m) { in_.managed.push_back(std::move(m)); return *this; }
  World& verified(std::int64_t pid, Allowlist a) { return verified(target(), pid, std::move(a)); }
  World& verified(const std::string& m, std::int64_t pid, Allowlist a) {
    in_.verified[m] = Verified{pid, 1000 + static_cast<std::uint64_t>(pid), std::move(a)};
    return *this;
  }
  World& restarts(RestartHistory h) { in_.restarts = h; return *this; }
  World& backoff(Millis initial, Millis max) {
    in_.backoff_initial = initial;
    in_.backoff_max = max;
    return *this;
  }

  // --- what was observed; these act on the machine last named by at() (default: the spec's) ---
  World& at(std::string machine) { at_ = std::move(machine); return *this; }
  World& row(Policy allowed) {
    obs().row = MachineObservation::Row::Ok;
    obs().allowed = std::move(allowed);
    obs().network = true;
    return *this;
  }
  World& row_missing() { obs().row = MachineObservation::Row::Missing; return *this; }
  World& row_unreadable(std::string problem) {
    obs().row = MachineObservation::Row::Unreadable;
    obs().problem = std::move(problem);
    return *this;
  }
  World& db_unavailable(std::string problem) {
    obs().row = MachineObservation::Row::DbUnavailable;
    obs().problem = std::move(problem);
    return *this;
  }
  World& vm(std::int64_t pid, Policy booted) { obs().vm = running_vm(pid, std::move(booted)); return *this; }
  World& pid_note(std::string note) { obs().pid_note = std::move(note); return *this; }
  World& superseded(std::int64_t pid) {
    obs().superseded = StrayVm{pid, 1000 + static_cast<std::uint64_t>(pid)};
    return *this;
  }
  World& stray(std::int64_t pid) {
    in_.strays[target()].push_back(StrayVm{pid, 1000 + static_cast<std::uint64_t>(pid)});
    return *this;
  }
  World& of_others() { in_.machines_of_others.insert(target()); return *this; }
  World& lease_conflict(std::string machine) {
    in_.lease_conflicts.push_back(LeaseConflict{std::move(machine), in_.name, in_.lease.value_or(ip("127.0.0.16"))});
    return *this;
  }
  World& now(TimePoint t) { in_.now = t; return *this; }

  const BottleInput& input() const { return in_; }
  operator const BottleInput&() const { return in_; }  // NOLINT: a World is its input

  // The policy "exactly the bottle's desired allowlist" for the lease it has (or .16).
  Allowlist desired() const { return desired_allowlist(spec_or_plain(), in_.lease.value_or(ip("127.0.0.16"))); }

 private:
  template <class F>
  World& edit(F f) {
    if (!in_.spec) in_.spec = plain_spec(in_.name);
    f(*in_.spec);
    return *this;
  }
  BottleSpec spec_or_plain() const { return in_.spec ? *in_.spec : plain_spec(in_.name); }
  std::string target() const { return at_.empty() ? spec_or_plain().machine : at_; }
  MachineObservation& obs() { return in_.observed[target()]; }

  BottleInput in_;
  std::string at_;
};

// The plan's actions as to_string renders them, for exact comparisons that show the whole plan.
inline std::vector<std::string> rendered(const Plan& p) {
  std::vector<std::string> out;
  for (const Action& a : p.actions) out.push_back(to_string(a));
  return out;
}

using Strings = std::vector<std::string>;
inline Strings plan_of(const BottleInput& in) { return rendered(plan_bottle(in)); }

// The plan's action kinds, space-separated: "kill patch start" ("" for none).
inline std::string kinds_of(const Plan& p) {
  std::string out;
  for (const Action& a : p.actions) {
    std::string s = to_string(a);
    if (!out.empty()) out += ' ';
    out += s.substr(0, s.find(' '));
  }
  return out;
}

}  // namespace bs::test
