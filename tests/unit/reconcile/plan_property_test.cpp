// The planner's safety and liveness over random worlds (plan_random.h), each world planned, its
// plan applied to a model of smolvm and the supervisor's records (plan_model.h), and planned
// again, round after round, as the daemon does:
//   (a) a Start only follows a row verified in the same pass;
//   (b) a Kill only names a VM observed for that machine, with its start time;
//   (c) only the bottle's own machines are touched;
//   (d) the rounds reach rest (an empty plan, or a backoff wait) within the daemon's limit.
// Deterministic: the worlds come from fixed seeds. A failure prints the world's seed, and
//   BS_PLAN_SEED=<seed> build/unit_reconcile "planner properties*"
// replays that world alone; BS_PLAN_WORLDS=<n> runs more (or fewer) worlds.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "plan_random.h"

using namespace bs;

namespace plan_props {

using K = Action::Kind;
using test::ModelWorld;
using test::describe;

// The daemon's limit on rounds in one step (supervisor/bottle_work.cpp, kMaxRounds): the 13th
// plan of a step is not made; the step ends "not converging". Each smolvm command ends a round,
// so the rounds a step needs grow with the machines it stops, deletes and creates: about three
// per machine to remove. The worlds here have at most three managed machines; the longest step
// they need (a lease move, two machines to remove and one to recreate) is 11 rounds.
constexpr int kMaxRounds = 12;
// Steps after which the world must rest for good: a backoff wait ends a step, and the model's
// VMs never exit or drift by themselves, so a wait is followed by a start that rests. A second
// wait happens when the step also killed a stray while the last start was unverified: the
// executor counts every kill as an unconfined start's (RestartHistory::record_kill), the
// planner's own estimate only its drift kills, so the first wait was computed a little short.
constexpr int kMaxSteps = 3;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string plan_text(const Plan& p) {
  std::string s;
  for (const Action& a : p.actions) s += "\n    " + to_string(a);
  if (p.error) s += "\n    (error: " + *p.error + ")";
  if (p.pending) s += "\n    (pending: " + *p.pending + ")";
  return s.empty() ? "\n    (empty)" : s;
}

// (a) A Start is planned only when the spec wants the machine running and the row, as the plan
// leaves it just before the Start, exists and allows exactly the desired allowlist: either it
// did already, or a Patch to the desired allowlist precedes the Start (the executor verifies the
// patch and ends the plan if it did not take). Nothing is started while the bottle is held.
std::optional<std::string> starts_only_verified(const BottleInput& in, const Plan& p) {
  std::map<std::string, std::optional<Allowlist>> row;  // what each row allows as the plan goes
  for (const auto& [m, obs] : in.observed) {
    if (obs.row == MachineObservation::Row::Ok && obs.allowed.kind == Policy::Kind::List) row[m] = obs.allowed.list;
    else row[m] = std::nullopt;
  }
  for (const Action& a : p.actions) {
    switch (a.kind) {
      case K::Create:
      case K::Patch: row[a.machine] = a.allowlist; break;
      case K::Quarantine: row[a.machine] = Allowlist{}; break;
      case K::Delete: row[a.machine] = std::nullopt; break;
      case K::Start: {
        if (!in.spec || !in.lease) return "start " + a.machine + " without a spec and a lease";
        if (in.held || in.absent || in.removed) return "start " + a.machine + " while the spec is absent or held";
        if (a.machine != in.spec->machine || in.spec->state != RunState::Running) {
          return "start " + a.machine + ", which the spec does not want running";
        }
        if (!in.lease_conflicts.empty()) return "start " + a.machine + " on an address another machine allows";
        const Allowlist desired = desired_allowlist(*in.spec, *in.lease);
        const auto& now = row[a.machine];
        if (!now || *now != desired) {
          return "start " + a.machine + " whose row was not verified to allow " + to_string(desired) +
                 " (it allows " + (now ? to_string(*now) : std::string("nothing known")) + ")";
        }
        break;
      }
      default: break;
    }
  }
  return std::nullopt;
}

// (b) A Kill names a process observed as a VM of that very machine, with the start time it was
// observed with: the row's VM, the VM verified earlier that the row no longer names, or a stray
// the resync found for the machine's data dir. Never a pid the row names that is not that VM
// (pid_note), never a pid only the store remembers. And no process is killed twice in a plan.
std::optional<std::string> kills_only_observed_vms(const BottleInput& in, const Plan& p) {
  std::set<std::int64_t> killed;
  for (const Action& a : p.actions) {
    if (a.kind != K::Kill) continue;
    auto same = [&](std::int64_t pid, std::uint64_t start) { return pid == a.pid && start == a.start_time; };
    bool seen = false;
    if (auto o = in.observed.find(a.machine); o != in.observed.end()) {
      const MachineObservation& obs = o->second;
      seen = (obs.vm && same(obs.vm->pid, obs.vm->start_time)) ||
             (obs.superseded && same(obs.superseded->pid, obs.superseded->start_time));
    }
    if (auto s = in.strays.find(a.machine); !seen && s != in.strays.end()) {
      for (const StrayVm& v : s->second) seen = seen || same(v.pid, v.start_time);
    }
    if (!seen) return "kill pid " + std::to_string(a.pid) + " which is not an observed VM of " + a.machine;
    if (!killed.insert(a.pid).second) return "kill pid " + std::to_string(a.pid) + " twice";
  }
  return std::nullopt;
}

// (c) The planner acts on the machines the bottle manages and on the machine its spec names,
// nothing else. The spec's machine, when the bottle does not manage it yet, is taken in first:
// every action on it follows its Create or Adopt in the same plan, with two exceptions, both
// kills of a VM that nothing vouches for: its row is gone (the VM was found through its data
// dir: unverifiable by any bottle's allowlist, so its owner, if any, kills it as well), or
// smolvm's DB cannot be read (the VM is judged as it would be once adopted). A machine of
// another bottle (managed or wanted by it) that this bottle does not manage is never created,
// adopted, patched, started or stopped, and its VM is killed only in the first case. While the
// bottle is held, even the spec's machine is not touched until it is adopted.
std::optional<std::string> touches_only_own(const BottleInput& in, const Plan& p) {
  std::set<std::string> mine;
  for (const Managed& m : in.managed) mine.insert(m.machine);
  const std::optional<std::string> named = in.spec ? std::optional(in.spec->machine) : std::nullopt;
  std::set<std::string> taken_in;
  for (const Action& a : p.actions) {
    if (a.machine.empty()) continue;  // the lease
    const std::string what = to_string(a);
    if (mine.count(a.machine) != 0) continue;
    if (a.machine != named) return what + ": neither managed by the bottle nor named by its spec";
    const bool of_others = in.machines_of_others.count(a.machine) != 0;
    if (a.kind == K::Create || a.kind == K::Adopt) {
      if (of_others) return what + ": a machine of another bottle";
      taken_in.insert(a.machine);
      continue;
    }
    if (taken_in.count(a.machine) != 0) continue;
    const bool held = in.held || (in.absent && !in.removed);
    if (a.kind == K::Kill && !held) {
      const MachineObservation& obs = in.observed.at(a.machine);
      if (obs.row == MachineObservation::Row::Missing) continue;
      if (of_others) return what + ": the VM of a machine of another bottle";
      if (obs.row == MachineObservation::Row::DbUnavailable) continue;
    }
    return what + ": the spec's machine, not managed and not taken in by this plan";
  }
  return std::nullopt;
}

struct Outcome {
  std::optional<std::string> failure;
  int rounds = 0;          // plans made, over all steps
  int longest_step = 0;    // the most rounds one step took
};

// Plans the world, applies the plan as the executor would, and again, until it rests.
Outcome run_world(ModelWorld w) {
  Outcome out;
  std::string trace;
  for (int step = 0; step < kMaxSteps; ++step) {
    for (int round = 1;; ++round) {
      if (round > kMaxRounds) {
        out.failure = "(d) no rest within " + std::to_string(kMaxRounds) + " rounds" + trace;
        return out;
      }
      const BottleInput in = w.view();
      const Plan p = plan_bottle(in);
      ++out.rounds;
      out.longest_step = std::max(out.longest_step, round);
      trace += "\n  step " + std::to_string(step + 1) + " round " + std::to_string(round) + ":" + plan_text(p);
      for (auto property : {starts_only_verified, kills_only_observed_vms, touches_only_own}) {
        if (auto why = property(in, p)) {
          out.failure = *why + "\n  in the world\n  " + describe(in) + "\n  rounds so far:" + trace;
          return out;
        }
      }
      if (p.actions.empty()) return out;  // rest: converged, waiting on a pending VM, or an error
      ModelWorld::Applied applied = ModelWorld::Applied::Next;
      TimePoint wake{};
      for (const Action& a : p.actions) {
        applied = w.apply(a);
        if (applied == ModelWorld::Applied::Wait) wake = a.not_before;
        if (applied != ModelWorld::Applied::Next) break;
      }
      if (applied == ModelWorld::Applied::Failed) {
        out.failure = "(d) the executor could not carry out the plan" + trace + "\n  in the world\n  " + describe(in);
        return out;
      }
      if (applied == ModelWorld::Applied::Wait) {
        w.records.now = wake;  // the work queue brings the bottle back when the backoff has passed
        break;
      }
    }
  }
  out.failure = "(d) still waiting after " + std::to_string(kMaxSteps) + " backoff waits" + trace;
  return out;
}

}  // namespace plan_props

TEST_CASE("planner properties over random worlds: verified starts, observed kills, own machines, rest",
          "[reconcile][plan][property]") {
  using namespace plan_props;
  constexpr std::uint64_t kBaseSeed = 0x0b077e5eed5ULL;
  long worlds = 20000;
  if (const char* n = std::getenv("BS_PLAN_WORLDS")) worlds = std::atol(n);
  std::optional<std::uint64_t> only;
  if (const char* s = std::getenv("BS_PLAN_SEED")) only = std::strtoull(s, nullptr, 0);

  const auto t0 = std::chrono::steady_clock::now();
  long rounds = 0, ran = 0;
  int longest_step = 0;
  for (long i = 0; i < (only ? 1 : worlds); ++i) {
    const std::uint64_t seed = only ? *only : splitmix64(kBaseSeed + static_cast<std::uint64_t>(i));
    Outcome o = run_world(test::RandomWorld(seed).make());
    ++ran;
    rounds += o.rounds;
    longest_step = std::max(longest_step, o.longest_step);
    if (o.failure) {
      FAIL("world seed " << hex(seed) << " (replay: BS_PLAN_SEED=" << hex(seed)
                         << " build/unit_reconcile \"planner properties*\"): " << *o.failure);
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  WARN("planner properties: " << ran << " random worlds, " << rounds << " plans (at most " << longest_step
                                << " in one step), " << ms.count() << " ms");
  CHECK(ran >= (only ? 1 : 10000));
}
