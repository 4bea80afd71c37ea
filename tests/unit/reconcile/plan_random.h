// Random worlds for the planner's property test, each built from one 64-bit seed so a failure
// names the seed that reproduces it. The worlds mix what the planner meets: a spec present,
// never valid, in error, absent, removed or held; a lease or none; machines managed by the bottle
// (created or adopted, with the spec's shape or an old one), a renamed-away machine, a machine
// of another bottle and a loose machine nobody manages; rows missing, unreadable, behind an
// unavailable DB, or allowing random lists; VMs booted confined, unconfined, pending or
// unverifiable; verified records current or stale; strays, superseded VMs and restart histories.
#pragma once

#include <random>

#include "plan_model.h"
#include "plan_world.h"

namespace bs::test {

class RandomWorld {
 public:
  explicit RandomWorld(std::uint64_t seed) : rng_(seed) {}

  ModelWorld make() {
    ModelWorld w;
    BottleInput& in = w.records;
    in.name = "a";
    in.now = kPlanNow;
    in.backoff_initial = Millis(pick({1, 1000}));
    in.backoff_max = Millis(pick({8, 300000}));

    // The spec: which machine it names decides what is ours to adopt or another bottle's.
    const std::string spec_machine =
        pick({"bottle-a", "bottle-a", "bottle-a", "bottle-a", "old-a", "loose", "bottle-b"});
    if (chance(10)) {
      if (chance(70)) in.spec_error = "a.toml:1:1: broken";
    } else {
      BottleSpec s = plain_spec("a");
      s.machine = spec_machine;
      s.state = chance(75) ? RunState::Running : RunState::Stopped;
      s.on_remove = chance(60) ? OnRemove::Delete : OnRemove::Keep;
      if (chance(20)) s.loopback = ip(pick({"127.0.0.16", "127.0.0.20"}));
      s.egress_allow =
          pick_list({Allowlist{}, Allowlist{}, allow({"10.0.0.0/8"}), allow({"10.0.0.0/8", "192.168.0.0/16"})});
      if (chance(20)) {
        s.image.reset();
        s.from = "/abs/agent.smolmachine";
      }
      if (chance(15)) s.cpus = 2;
      in.spec = s;
      if (chance(10)) in.spec_error = "a.toml:3:8: cpus = 0 is out of range (1..64)";
    }
    in.removed = chance(10);
    in.absent = in.removed ? chance(50) : chance(10);
    in.held = chance(5);
    if (!chance(15)) in.lease = ip(pick({"127.0.0.16", "127.0.0.16", "127.0.0.16", "127.0.0.17", "127.0.0.20"}));
    if (chance(10)) {
      in.lease_conflicts.push_back(LeaseConflict{"bot-bottle-x", "a", in.lease.value_or(ip("127.0.0.16"))});
    }

    // What the bottle manages, and what other bottles do.
    w.others.insert("bottle-b");
    if (chance(5)) w.others.insert("bottle-a");
    for (const char* m : {"bottle-a", "old-a", "bottle-b"}) {
      int p = std::string(m) == "bottle-a" ? 65 : std::string(m) == "old-a" ? 25 : 4;
      if (!chance(p)) continue;
      Managed rec;
      rec.machine = m;
      rec.adopted = chance(25);
      rec.on_remove = chance(60) ? OnRemove::Delete : OnRemove::Keep;
      if (in.spec && chance(70)) rec.on_remove = in.spec->on_remove;
      rec.fingerprint = in.spec && chance(75) ? machine_fingerprint(*in.spec)
                                              : std::string("image=alpine:3.19 cpus=1 memory=512");
      in.managed.push_back(rec);
    }
    if (chance(30)) w.visible_extra.insert("loose");
    if (chance(30)) w.visible_extra.insert("bottle-b");

    // What smolvm and /proc say about each machine.
    const bool db_unavailable = chance(8);
    for (const char* m : {"bottle-a", "old-a", "loose", "bottle-b"}) {
      if (chance(15)) continue;  // never existed: a missing row
      w.machines[m] = observation(w, m, db_unavailable);
    }
    if (db_unavailable) {
      for (const char* m : {"bottle-a", "old-a", "loose", "bottle-b"}) {
        MachineObservation& o = w.machines[m];
        o.row = MachineObservation::Row::DbUnavailable;
        o.problem = "smolvm DB is not available";
      }
    }
    in.restarts = history(in.now);
    return w;
  }

 private:
  bool chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  T pick(std::initializer_list<T> options) {
    return *(options.begin() + between(0, static_cast<int>(options.size()) - 1));
  }
  Allowlist pick_list(std::initializer_list<Allowlist> options) { return pick(options); }

  std::int64_t new_pid() { return next_pid_++; }
  static std::uint64_t start_of(std::int64_t pid) { return static_cast<std::uint64_t>(pid) * 7 + 3; }

  // An allowlist the world might hold: the bottle's desired one, another bottle's, open, or empty.
  Allowlist some_list(const BottleInput& in) {
    switch (between(0, 4)) {
      case 0:
      case 1:
        if (in.spec && in.lease) return desired_allowlist(*in.spec, *in.lease);
        return allow({"127.0.0.16/32"});
      case 2: return allow({"127.0.0.17/32"});
      case 3: return allow({"0.0.0.0/0"});
      default: return {};
    }
  }

  Policy some_policy(const BottleInput& in) {
    switch (between(0, 9)) {
      case 0: return Policy::unrestricted();
      case 1: return Policy::invalid("agent.config.json unreadable");
      case 2: return Policy::pending("no agent.pid yet");
      default: return Policy::of(some_list(in));
    }
  }

  MachineObservation observation(ModelWorld& w, const std::string& m, bool db_unavailable) {
    BottleInput& in = w.records;
    MachineObservation o;
    int r = between(0, 99);
    if (r < 12) {
      o.row = MachineObservation::Row::Missing;
    } else if (r < 20) {
      o.row = MachineObservation::Row::Unreadable;
      o.problem = "data is TEXT, smolvm cannot read it";
    } else {
      o.row = MachineObservation::Row::Ok;
      int a = between(0, 9);
      o.allowed = a == 0 ? Policy::unrestricted() : a == 1 ? Policy::invalid("allowed_cidrs is not a list")
                                                           : Policy::of(some_list(in));
      o.network = !chance(5);
    }
    if (chance(50)) {
      std::int64_t pid = new_pid();
      Policy booted = chance(30) && o.row == MachineObservation::Row::Ok ? o.allowed : some_policy(in);
      if (booted.kind == Policy::Kind::Invalid && o.row == MachineObservation::Row::Ok && chance(50)) {
        booted = Policy::of(some_list(in));
      }
      o.vm = RunningVm{pid, start_of(pid), booted, booted.kind == Policy::Kind::Pending ? between(1, 1500) : 0};
    } else if (chance(20)) {
      o.pid_note = "pid " + std::to_string(new_pid()) + " belongs to another process";
    }
    // The supervisor's record of the VM it verified last: the running one, or one before it.
    if (chance(40)) {
      Verified v;
      if (o.vm && chance(60)) {
        v.pid = o.vm->pid;
        v.start_time = o.vm->start_time;
      } else {
        v.pid = new_pid();
        v.start_time = start_of(v.pid);
        if (!db_unavailable && chance(25)) o.superseded = StrayVm{v.pid, v.start_time};  // still alive
      }
      v.allowlist = some_list(in);
      in.verified[m] = v;
    }
    if (chance(15)) {
      std::vector<StrayVm>& list = in.strays[m];
      int n = between(1, 2);
      for (int i = 0; i < n; ++i) {
        std::int64_t pid = new_pid();
        list.push_back(StrayVm{pid, start_of(pid)});
      }
      // The resync's scan also finds the row's VM and a superseded one: neither is killed twice.
      if (o.vm && chance(50)) list.push_back(StrayVm{o.vm->pid, o.vm->start_time});
      if (o.superseded && chance(50)) list.push_back(*o.superseded);
    }
    return o;
  }

  RestartHistory history(TimePoint now) {
    RestartHistory h;
    if (chance(40)) return h;
    auto ago = [&] { return now - Millis(pick({10, 500, 5000, 60000, 700000})); };
    h.exits = between(0, 6);
    if (chance(80)) h.last_start = ago();
    if (h.exits > 0 && chance(80)) h.last_exit = ago();
    h.skip_backoff = chance(20);
    h.start_unverified = chance(30);
    if (chance(25)) {
      h.unconfined_starts = between(1, 4);
      h.last_unconfined_kill = ago();
    }
    return h;
  }

  std::mt19937_64 rng_;
  std::int64_t next_pid_ = 100;
};

}  // namespace bs::test
