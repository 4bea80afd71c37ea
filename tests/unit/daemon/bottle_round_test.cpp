// A bottle's reconcile step (BottleRounds) against a model world and a fake clock: the real
// planner and work queue, smolvm's commands as model changes that complete when the clock says,
// so the loop's every ending (converged, failed with backoff, not converging, restart backoff,
// pending, stopping) is tested in milliseconds, with no sleeps.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "supervisor/bottle_round.h"
#include "supervisor/work_queue.h"
#include "support/fake_time.h"
#include "unit/reconcile/plan_model.h"
#include "unit/reconcile/plan_world.h"

using namespace std::chrono_literals;
using bs::Action;
using bs::BottleInput;
using bs::MachineObservation;
using bs::Policy;
using bs::supervisor::Bottle;
using bs::supervisor::BottleRounds;
using bs::supervisor::Executed;
using bs::supervisor::RoundWorld;
using bs::supervisor::WorkQueue;
using bs::test::FakeTime;
using bs::test::ModelWorld;
using K = Action::Kind;

namespace {

constexpr auto kCommand = 40ms;  // how long each model smolvm command takes

// The daemon's side of a round, over a ModelWorld: smolvm commands (create, start, stop, delete)
// are Async and complete kCommand later on the fake clock; everything else happens at once.
class ModelRounds final : public RoundWorld {
 public:
  FakeTime time;
  ModelWorld model;
  Bottle bottle;
  WorkQueue queue{time, [this](const std::string& name) {
                    ++steps;
                    rounds.begin(bottle);
                    (void)name;
                  }};
  BottleRounds rounds{time, queue, *this};

  // What the test sees.
  std::vector<K> executed;
  std::vector<std::string> errors;  // reported errors, in order
  int steps = 0, ended = 0, failed_steps = 0;
  std::vector<std::string> abandoned;

  // What the test scripts.
  std::map<K, std::string> failing;  // this kind of action fails with this error
  std::set<K> ineffective;           // this kind "succeeds" but changes nothing (something undoes it)

  ModelRounds() {
    bottle.name = "a";
    model.records.name = "a";
    model.records.spec = bs::test::plain_spec("a");
    model.records.backoff_initial = 1000ms;
    model.records.backoff_max = 8000ms;
    queue.set_backoff(1000ms, 8000ms);
  }

  BottleInput observe(Bottle&) override {
    model.records.now = time.now();
    return model.view();
  }

  Executed execute(Bottle& b, const Action& a) override {
    executed.push_back(a.kind);
    model.records.now = time.now();
    const bool command = a.kind == K::Create || a.kind == K::Start || a.kind == K::Stop || a.kind == K::Delete;
    if (!command) {
      if (auto f = failing.find(a.kind); f != failing.end()) return Executed::failed(f->second);
      if (ineffective.count(a.kind) != 0) return Executed::next();
      return model.apply(a) == ModelWorld::Applied::Failed ? Executed::failed("model refused " + to_string(a))
                                                            : Executed::next();
    }
    command_done_.start(kCommand, [this, &b, a] {
      model.records.now = time.now();
      if (auto f = failing.find(a.kind); f != failing.end()) {
        rounds.fail(b, f->second);
        return;
      }
      if (model.apply(a) == ModelWorld::Applied::Failed) {
        rounds.fail(b, "model refused " + to_string(a));
        return;
      }
      rounds.replan(b);  // as the daemon does after every smolvm command
    });
    return Executed::async();
  }

  void report_error(Bottle&, const std::string& error) override { errors.push_back(error); }
  void step_ended(Bottle&, bool failed) override {
    ++ended;
    if (failed) ++failed_steps;
  }
  void step_abandoned(const std::string& name) override { abandoned.push_back(name); }

  bool command_running() const { return command_done_.active(); }

  // Runs what is due now and every command until nothing more is due within `limit`.
  void settle(std::chrono::milliseconds limit = 1000ms) {
    time.run_due();
    for (auto waited = 0ms; waited < limit && (command_running() || !queue.idle()); waited += 10ms) time.advance(10ms);
  }

  // The bottle's first step, run to its end: a leased, created, started and verified machine.
  void converge() {
    queue.add("a");
    settle();
    REQUIRE(bottle.settled);
  }

  int count(K kind) const { return static_cast<int>(std::count(executed.begin(), executed.end(), kind)); }

 private:
  bs::supervisor::Timer command_done_{time};
};

}  // namespace

TEST_CASE("bottle round: a new bottle's step leases, creates, starts and verifies, then ends converged",
          "[daemon-unit]") {
  ModelRounds w;
  w.queue.add("a");
  w.time.run_due();
  CHECK(w.executed == std::vector<K>{K::AcquireLease, K::Create});  // the create runs: the step waits
  CHECK(w.ended == 0);
  w.time.advance(kCommand);
  CHECK(w.executed == std::vector<K>{K::AcquireLease, K::Create, K::Start});
  w.time.advance(kCommand);
  // The start's VM booted with the row's allowlist: recorded as verified, and the next plan is empty.
  CHECK(w.executed == std::vector<K>{K::AcquireLease, K::Create, K::Start, K::RecordVerified});
  CHECK(w.steps == 1);
  CHECK(w.ended == 1);
  CHECK(w.failed_steps == 0);
  CHECK(w.errors.empty());
  CHECK(w.bottle.settled);
  CHECK(w.queue.idle());
  CHECK_FALSE(w.queue.scheduled("a"));
  const MachineObservation& m = w.model.machines.at("bottle-a");
  REQUIRE(m.vm);
  CHECK(w.model.records.verified.at("bottle-a").pid == m.vm->pid);
}

TEST_CASE("bottle round: a converged bottle's step plans nothing and leaves no retry behind", "[daemon-unit]") {
  ModelRounds w;
  w.converge();
  const auto before = w.executed.size();
  w.queue.add("a");
  w.time.run_due();
  CHECK(w.executed.size() == before);
  CHECK(w.steps == 2);
  CHECK(w.ended == 2);
  CHECK(w.bottle.rounds == 1);
  CHECK(w.queue.idle());
  CHECK(w.time.pending() == 0);  // nothing left ticking: no hot loop, no stray timer
}

TEST_CASE("bottle round: a failed command ends the step with its error, reported once, retried after a doubling "
          "backoff and not sooner", "[daemon-unit]") {
  ModelRounds w;
  w.failing[K::Start] = "smolvm machine start: no kvm";
  w.queue.add("a");
  w.time.run_due();
  w.time.advance(kCommand);  // the create
  w.time.advance(kCommand);  // the start fails
  CHECK(w.ended == 1);
  CHECK(w.failed_steps == 1);
  CHECK(w.errors == std::vector<std::string>{"smolvm machine start: no kvm"});
  REQUIRE(w.bottle.exec_error);
  CHECK(*w.bottle.exec_error == "smolvm machine start: no kvm");
  CHECK_FALSE(w.bottle.settled);
  REQUIRE(w.queue.scheduled("a"));
  CHECK(*w.queue.scheduled("a") == w.time.now() + 1000ms);

  // Not a moment before the backoff; then once, failing the same way: not reported again, and
  // the next backoff is twice as long.
  w.time.advance(999ms);
  CHECK(w.steps == 1);
  w.time.advance(1ms);
  CHECK(w.steps == 2);
  w.time.advance(kCommand);
  CHECK(w.failed_steps == 2);
  CHECK(w.errors.size() == 1);
  CHECK(*w.queue.scheduled("a") == w.time.now() + 2000ms);
  CHECK(w.queue.failures("a") == 2);

  // The cause goes away: the next retry converges, and the backoff starts over.
  w.failing.clear();
  w.time.advance(2000ms);
  w.settle();
  CHECK(w.steps == 3);
  CHECK(w.bottle.settled);
  CHECK_FALSE(w.bottle.exec_error);
  CHECK(w.queue.failures("a") == 0);
  CHECK(w.count(K::Start) == 3);
}

TEST_CASE("bottle round: an action failing at once ends the step before the rest of its plan", "[daemon-unit]") {
  ModelRounds w;
  w.failing[K::AcquireLease] = "the bot-bottle allocation lock is held; retrying";
  w.queue.add("a");
  w.time.run_due();
  CHECK(w.executed == std::vector<K>{K::AcquireLease});  // no create without a lease
  CHECK(w.failed_steps == 1);
  CHECK(w.errors == std::vector<std::string>{"the bot-bottle allocation lock is held; retrying"});
  CHECK(w.queue.scheduled("a"));
}

TEST_CASE("bottle round: a plan that keeps changing ends after kMaxRounds rounds as not converging, with backoff",
          "[daemon-unit]") {
  ModelRounds w;
  w.converge();
  // Something undoes every patch at once: the row keeps allowing too much while the VM is fine.
  w.model.machines.at("bottle-a").allowed = Policy::unrestricted();
  w.ineffective.insert(K::Patch);
  w.queue.add("a");
  w.time.run_due();
  // The row's drift may also kill the VM; whatever else, patches were tried once per round.
  CHECK(w.count(K::Patch) == BottleRounds::kMaxRounds);
  REQUIRE(w.bottle.exec_error);
  CHECK(w.bottle.exec_error->find("not converging") == 0);
  CHECK(w.errors.back().find("not converging") == 0);
  CHECK(w.queue.scheduled("a"));  // retried after the backoff, not in a loop
  CHECK(w.failed_steps == 1);
}

TEST_CASE("bottle round: a restart backoff ends the step without an error and the bottle comes back when it is due",
          "[daemon-unit]") {
  ModelRounds w;
  w.converge();
  // The VM has exited by itself three times in a row, the last just now.
  MachineObservation& m = w.model.machines.at("bottle-a");
  m.vm.reset();
  w.model.records.verified.clear();
  w.model.records.restarts.exits = 3;
  w.model.records.restarts.last_start = w.time.now() - 1s;
  w.model.records.restarts.last_exit = w.time.now();
  const auto delay = bs::restart_delay(3, 1000ms, 8000ms);
  REQUIRE(delay > 0ms);
  const int starts = w.count(K::Start);
  w.queue.add("a");
  w.time.run_due();
  CHECK(w.failed_steps == 0);
  CHECK(w.errors.empty());
  CHECK(w.count(K::Start) == starts);
  REQUIRE(w.queue.scheduled("a"));
  CHECK(*w.queue.scheduled("a") == w.time.now() + delay);
  w.time.advance(delay - 1ms);
  CHECK(w.count(K::Start) == starts);
  w.time.advance(1ms);
  CHECK(w.count(K::Start) == starts + 1);  // the restart, when due
  w.settle();
  CHECK(w.bottle.settled);
}

TEST_CASE("bottle round: a VM whose booted policy is pending is looked at again when its window closes",
          "[daemon-unit]") {
  ModelRounds w;
  w.converge();
  MachineObservation& m = w.model.machines.at("bottle-a");
  m.vm->booted = Policy::pending("agent.pid does not name it yet");
  m.vm->pending_ms = 300;
  w.model.records.verified.clear();
  const int steps = w.steps;
  w.queue.add("a");
  w.time.run_due();
  CHECK(w.steps == steps + 1);
  CHECK_FALSE(w.bottle.settled);  // not converged while pending, and no error either
  CHECK(w.errors.empty());
  CHECK(w.failed_steps == 0);
  REQUIRE(w.queue.scheduled("a"));
  CHECK(*w.queue.scheduled("a") == w.time.now() + 301ms);
  w.time.advance(300ms);
  CHECK(w.steps == steps + 1);
  w.time.advance(1ms);
  CHECK(w.steps == steps + 2);
}

TEST_CASE("bottle round: a drifted VM is killed and restarted confined within one step", "[daemon-unit]") {
  ModelRounds w;
  w.converge();
  // Someone restarted the VM with another policy.
  MachineObservation& m = w.model.machines.at("bottle-a");
  m.vm = bs::RunningVm{4242, 777, Policy::unrestricted(), 0};
  const int steps = w.steps;
  w.queue.add("a");
  w.time.run_due();
  REQUIRE(w.count(K::Kill) == 1);
  CHECK_FALSE(w.model.machines.at("bottle-a").vm);  // killed before anything else could start
  w.time.advance(kCommand);  // the confined restart
  CHECK(w.steps == steps + 1);
  CHECK(w.bottle.settled);
  const MachineObservation& after = w.model.machines.at("bottle-a");
  REQUIRE(after.vm);
  CHECK(after.vm->pid != 4242);
  CHECK(after.vm->booted.equals(w.model.records.verified.at("bottle-a").allowlist));
}

TEST_CASE("bottle round: once stopping, a step is given up at its next turn, also after its command completes",
          "[daemon-unit]") {
  SECTION("a queued bottle") {
    ModelRounds w;
    w.rounds.stop();
    w.queue.add("a");
    w.time.run_due();
    CHECK(w.executed.empty());
    CHECK(w.abandoned == std::vector<std::string>{"a"});
    CHECK(w.queue.idle());
  }
  SECTION("a command in flight") {
    ModelRounds w;
    w.queue.add("a");
    w.time.run_due();
    REQUIRE(w.command_running());  // the create
    w.rounds.stop();
    w.time.advance(kCommand);
    CHECK(w.executed == std::vector<K>{K::AcquireLease, K::Create});  // no start after it
    CHECK(w.abandoned == std::vector<std::string>{"a"});
    CHECK(w.queue.idle());
    CHECK(w.ended == 0);
  }
}
