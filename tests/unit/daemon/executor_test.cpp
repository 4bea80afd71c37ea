// The executor against fakes: a fake host (process table, listeners, smolvm's CLI), a real state
// store and smolvm DB in a temp folder, on a fake clock. What each action writes, says and leaves
// behind: the lease it picks, a kill's record, the intent recorded before a create, what an
// "already exists" undoes, a stop's clean-up, and how the bottle's round goes on.
#include <catch2/catch.hpp>
#include <uv.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "supervisor/executor.h"
#include "support/fake_time.h"
#include "support/temp_dir.h"
#include "unit/reconcile/plan_world.h"
#include "unit/store/store_fixture.h"

using namespace std::chrono_literals;
using bs::Action;
using bs::Ipv4;
using bs::KillReason;
using bs::platform::KillOutcome;
using bs::platform::KillResult;
using bs::supervisor::Bottle;
using bs::supervisor::BottleRounds;
using bs::supervisor::BottleTable;
using bs::supervisor::CommandResult;
using bs::supervisor::Counters;
using bs::supervisor::Executed;
using bs::supervisor::Executor;
using bs::supervisor::Host;
using bs::supervisor::Records;
using bs::supervisor::RowWatch;
using bs::supervisor::Settings;
using bs::supervisor::VmWatch;
using bs::supervisor::WorkQueue;
using bs::test::FakeTime;

namespace {

struct ScriptedProcesses final : bs::supervisor::ProcessControl {
  KillOutcome outcome = KillOutcome::Killed;
  std::vector<std::int64_t> killed, waited;
  KillResult kill_verified(std::int64_t pid, std::optional<std::uint64_t>, const bs::platform::ArgvRule&) override {
    if (outcome == KillOutcome::Killed) killed.push_back(pid);
    return {outcome, "pid " + std::to_string(pid)};
  }
  void wait_gone(std::int64_t pid) override { waited.push_back(pid); }
};

struct ScriptedListeners final : bs::supervisor::ListenerTable {
  std::set<std::uint32_t> listening;
  std::set<std::uint32_t> listening_addresses() override { return listening; }
};

// smolvm's CLI: records each command; the test answers it (as the loop would, later).
struct ScriptedSmolvm final : bs::supervisor::SmolvmCommands {
  struct Call {
    std::vector<std::string> argv;
    bs::supervisor::CommandRunner::Done done;
  };
  std::vector<Call> calls;
  void run(const std::vector<std::string>& argv, const std::map<std::string, std::string>&, std::chrono::milliseconds,
           bs::supervisor::CommandRunner::Done done) override {
    calls.push_back({argv, std::move(done)});
  }
  std::set<std::int64_t> child_pids() const override { return {}; }
  void answer(int exit_code, std::string out = {}, std::string err = {}) {
    REQUIRE_FALSE(calls.empty());
    auto done = std::move(calls.back().done);
    CommandResult r;
    r.exit_code = exit_code;
    r.out = std::move(out);
    r.err = std::move(err);
    done(std::move(r));
  }
};

// The round's side, reduced to what the executor's continuations reach: every replan sees a
// removed bottle with nothing left, so its plan is empty and the step ends without an error.
struct StepRecorder final : bs::supervisor::RoundWorld {
  int observed = 0, ended = 0, failed = 0;
  std::vector<std::string> errors;
  BottleInput observe(Bottle& b) override {
    ++observed;
    BottleInput in;
    in.name = b.name;
    in.removed = true;
    return in;
  }
  Executed execute(Bottle&, const Action&) override { return Executed::next(); }
  void report_error(Bottle&, const std::string& error) override { errors.push_back(error); }
  void step_ended(Bottle&, bool f) override {
    ++ended;
    if (f) ++failed;
  }
  void step_abandoned(const std::string&) override {}
};

// A loop that is never run but for the close callbacks of what the world held: declared first in
// the world, so it closes last.
struct ClosingLoop {
  uv_loop_t loop{};
  ClosingLoop() { uv_loop_init(&loop); }
  ~ClosingLoop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  ClosingLoop(const ClosingLoop&) = delete;
  ClosingLoop& operator=(const ClosingLoop&) = delete;
};

struct ExecutorWorld {
  ClosingLoop test_loop;
  uv_loop_t& loop = test_loop.loop;
  bs::test::TempDir dir{"bs-executor-test"};
  FakeTime time;
  Settings settings = [this] {
    Settings s;
    s.smolvm.server_dir = dir.path() + "/smolvm/server";
    s.smolvm.db = s.smolvm.server_dir + "/smolvm.db";
    s.smolvm.vms_dir = dir.path() + "/smolvm/vms";
    s.smolvm_bin = "/usr/bin/smolvm";
    s.lock_path = dir.path() + "/allocation.lock";
    return s;
  }();
  Records records{time, bs::store::test::open_store(dir.path() + "/state")};
  RowWatch rows{time, &loop, settings.smolvm, [] { return std::uint64_t{1}; }, {[](const auto&) {}, [] {}}};
  VmWatch vm_watch{&loop, time, settings.smolvm, false,
                   {[](const std::string&) {}, [](const auto&) {}, [](const std::string&, std::int64_t, auto) {},
                    [](const std::string&) -> std::optional<std::int64_t> { return std::nullopt; }}};
  BottleTable bottles;
  std::vector<std::string> queued;
  WorkQueue queue{time, [this](const std::string& name) {
                    queued.push_back(name);
                    queue.done(name);
                  }};
  StepRecorder round_world;
  BottleRounds rounds{time, queue, round_world};
  Counters counters;
  struct Said {
    std::string bottle, machine, kind, detail;
  };
  std::vector<Said> events;
  std::set<std::uint32_t> outside_held;
  ScriptedProcesses* processes = new ScriptedProcesses;
  ScriptedListeners* listeners = new ScriptedListeners;
  ScriptedSmolvm* smolvm = new ScriptedSmolvm;
  Executor executor{&loop,
                    false,
                    Executor::Parts{time, settings, records, rows, vm_watch, bottles, queue, rounds, counters},
                    Executor::Links{[this](const std::string& b, const std::string& m, const std::string& k,
                                           const std::string& d) {
                                      events.push_back({b, m, k, d});
                                      return time.wall_ms();
                                    },
                                    [](const std::set<std::string>&) {},
                                    [this] { return outside_held; },
                                    [](const Bottle&) -> std::optional<Ipv4> { return std::nullopt; }},
                    Host{std::unique_ptr<ScriptedProcesses>(processes), std::unique_ptr<ScriptedListeners>(listeners),
                         std::unique_ptr<ScriptedSmolvm>(smolvm)}};

  Bottle& bottle(const std::string& name = "a") {
    Bottle& b = bottles.get(name);
    if (!b.spec) b.spec = bs::test::plain_spec(name);
    return b;
  }
  // A managed machine whose VM was verified (the store wants the machine first).
  void verified_vm(const std::string& machine, std::int64_t pid, std::uint64_t start_time) {
    bs::store::ManagedMachine m{machine, "a", bs::store::Origin::Created, bs::OnRemove::Delete, "image alpine", 1};
    REQUIRE(records.put_machine(m) == std::nullopt);
    bs::store::VerifiedVm v{machine, pid, start_time, bs::store::test::allowlist({"127.0.0.16/32"}), 1};
    REQUIRE(records.put_verified(v) == std::nullopt);
  }
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const Said& e : events) out.push_back(e.kind);
    return out;
  }
};

Ipv4 address(const char* s) { return *bs::parse_ipv4(s); }

}  // namespace

TEST_CASE("executor: a lease is the lowest address nothing else holds, listens on or leases", "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  w.listeners->listening = {address("127.0.0.16").value};  // a launch outside the supervisor
  w.outside_held = {address("127.0.0.17").value};         // a machine outside the specs allows it
  REQUIRE(w.records.put_lease("other", address("127.0.0.18"), 1) == std::nullopt);
  Executed e = w.executor.execute(b, Action::acquire_lease(std::nullopt));
  REQUIRE(e.kind == Executed::Kind::Next);
  REQUIRE(w.records.lease_of("a"));
  CHECK(w.records.lease_of("a")->str() == "127.0.0.19");
  CHECK(w.kinds() == std::vector<std::string>{"lease-acquired"});
  CHECK(w.events.back().detail == "127.0.0.19");
}

TEST_CASE("executor: a fixed address another bottle leases fails the action, naming it, and leases nothing",
          "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  REQUIRE(w.records.put_lease("other", address("127.0.0.20"), 1) == std::nullopt);
  Executed e = w.executor.execute(b, Action::acquire_lease(address("127.0.0.20")));
  REQUIRE(e.kind == Executed::Kind::Failed);
  CHECK(e.error == "loopback 127.0.0.20 is already leased by bottle other");
  CHECK_FALSE(w.records.lease_of("a"));
  CHECK(w.events.empty());
}

TEST_CASE("executor: a drift kill is counted, said, waited for, clears the VM's verified record and queues the "
          "bottle for its confined restart", "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  w.verified_vm("bottle-a", 4242, 77);
  Executed e = w.executor.execute(b, Action::kill("bottle-a", 4242, 77, KillReason::Drift, "booted unrestricted"));
  REQUIRE(e.kind == Executed::Kind::Next);
  CHECK(w.processes->killed == std::vector<std::int64_t>{4242});
  CHECK(w.processes->waited == std::vector<std::int64_t>{4242});
  CHECK(w.counters.drift_kills == 1);
  CHECK(w.kinds() == std::vector<std::string>{"drift-killed"});
  CHECK(w.records.verified().count("bottle-a") == 0);
  w.time.run_due();
  CHECK(w.queued == std::vector<std::string>{"a"});
}

TEST_CASE("executor: a kill of a pid that is gone or another process signals nothing and says nothing",
          "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  for (KillOutcome outcome : {KillOutcome::Gone, KillOutcome::Mismatch}) {
    w.processes->outcome = outcome;
    Executed e = w.executor.execute(b, Action::kill("bottle-a", 4242, 77, KillReason::Drift, "booted unrestricted"));
    CHECK(e.kind == Executed::Kind::Next);
  }
  w.processes->outcome = KillOutcome::Failed;
  Executed failed = w.executor.execute(b, Action::kill("bottle-a", 4242, 77, KillReason::Drift, "x"));
  CHECK(failed.kind == Executed::Kind::Failed);
  CHECK(failed.error.find("cannot kill pid 4242") == 0);
  CHECK(w.processes->killed.empty());
  CHECK(w.counters.drift_kills == 0);
  CHECK(w.events.empty());
  w.time.run_due();
  CHECK(w.queued.empty());
}

TEST_CASE("executor: a create records the intent before smolvm runs, and an \"already exists\" undoes it",
          "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  const Action create = Action::create("bottle-a", bs::test::allow({"127.0.0.16/32"}), {"alpine", {}, 1, 512},
                                       bs::OnRemove::Delete);
  Executed e = w.executor.execute(b, create);
  REQUIRE(e.kind == Executed::Kind::Async);
  REQUIRE(w.smolvm->calls.size() == 1);
  const std::vector<std::string>& argv = w.smolvm->calls[0].argv;
  CHECK(argv.front() == "/usr/bin/smolvm");
  CHECK(std::find(argv.begin(), argv.end(), "127.0.0.16/32") != argv.end());
  // The machine is ours before smolvm has made it: a crash now leaves a record, not an orphan.
  REQUIRE(w.records.managed().find("bottle-a") != w.records.managed().end());
  CHECK(w.executor.slots().in_flight("bottle-a"));

  w.smolvm->answer(1, "", "Error: machine 'bottle-a' already exists or is being created\n");
  CHECK(w.records.managed().find("bottle-a") == w.records.managed().end());  // somebody else's
  CHECK(w.events.empty());
  CHECK_FALSE(w.executor.slots().in_flight("bottle-a"));
  CHECK(w.round_world.observed == 1);  // the round went on: planned again from what is there now
  CHECK(w.round_world.failed == 0);
}

TEST_CASE("executor: a created machine is said, and a failed start ends the step with smolvm's message",
          "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  const Action create = Action::create("bottle-a", bs::test::allow({"127.0.0.16/32"}), {"alpine", {}, 1, 512},
                                       bs::OnRemove::Delete);
  REQUIRE(w.executor.execute(b, create).kind == Executed::Kind::Async);
  w.smolvm->answer(0, "Created machine: bottle-a\n");
  CHECK(w.kinds() == std::vector<std::string>{"created"});
  CHECK(w.records.managed().find("bottle-a")->second.origin == bs::store::Origin::Created);

  const int failed_before = w.round_world.failed;
  REQUIRE(w.executor.execute(b, Action::start("bottle-a")).kind == Executed::Kind::Async);
  w.smolvm->answer(1, "", "Error: KVM is not available\n");
  CHECK(w.round_world.failed == failed_before + 1);
  REQUIRE_FALSE(w.round_world.errors.empty());
  CHECK(w.round_world.errors.back() == "smolvm machine start: KVM is not available");
  CHECK(w.counters.starts == 0);
}

TEST_CASE("executor: a stop of a machine that is not running still clears its verified VM", "[daemon-unit]") {
  ExecutorWorld w;
  Bottle& b = w.bottle();
  w.verified_vm("bottle-a", 4242, 77);
  REQUIRE(w.executor.execute(b, Action::stop("bottle-a")).kind == Executed::Kind::Async);
  w.smolvm->answer(0, "Machine 'bottle-a' is not running (state: stopped)\n");  // smolvm 1.32.2: exit 0
  CHECK(w.records.verified().count("bottle-a") == 0);
  CHECK(w.events.empty());  // nothing was stopped
  CHECK(w.round_world.failed == 0);
  CHECK(w.counters.stops == 0);
}
