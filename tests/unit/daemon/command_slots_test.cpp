// The command slots against a fake smolvm whose commands finish when the test says: at most eight
// at once, the rest wait first come first served, a freed slot goes to the first bottle in line
// (planned again, its fresh plan's first command takes the slot), and the machines in flight.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "supervisor/command_slots.h"

using namespace std::chrono_literals;
using bs::Action;
using bs::supervisor::CommandResult;
using bs::supervisor::CommandRunner;
using bs::supervisor::CommandSlots;
using bs::supervisor::SmolvmCommands;

namespace {

// Commands started and not finished yet, by machine (argv[1] of the fake's argv).
using StartedCommands = std::map<std::string, CommandRunner::Done>;

class FakeSmolvm final : public SmolvmCommands {
 public:
  explicit FakeSmolvm(StartedCommands& started) : started_(started) {}
  void run(const std::vector<std::string>& argv, const std::map<std::string, std::string>&, std::chrono::milliseconds,
           CommandRunner::Done done) override {
    started_[argv.at(1)] = std::move(done);
  }
  std::set<std::int64_t> child_pids() const override { return {4242}; }

 private:
  StartedCommands& started_;
};

// Bottles "b<i>" whose machine is "m<i>". Like the Supervisor, a finished command hands its free
// slot on (unless the test holds that back), and a re-planned bottle starts its command again
// (unless the test says its fresh plan has none).
struct SlotsBench {
  StartedCommands started;
  std::vector<std::string> replanned, finished;
  std::set<std::string> nothing_to_do;  // bottles whose fresh plan has no command
  bool hand_on = true;
  CommandSlots slots{std::make_unique<FakeSmolvm>(started), [this](const std::string& bottle) {
                       replanned.push_back(bottle);
                       if (nothing_to_do.count(bottle) == 0) ask(bottle);
                     }};

  static std::string machine_of(const std::string& bottle) { return "m" + bottle.substr(1); }

  // A bottle's plan reaches its command: it runs now or waits in line.
  bool ask(const std::string& bottle, Action::Kind kind = Action::Kind::Create) {
    if (!slots.admit(bottle)) return false;
    const std::string machine = machine_of(bottle);
    slots.run(machine, kind, {"smolvm", machine}, {}, 1s, [this, bottle](CommandResult) {
      finished.push_back(bottle);
      if (hand_on) slots.hand_out_free_slots();
    });
    return true;
  }
  void complete(const std::string& machine, std::chrono::microseconds took = 1000us) {
    auto it = started.find(machine);
    REQUIRE(it != started.end());
    auto done = std::move(it->second);
    started.erase(it);
    CommandResult r;
    r.exit_code = 0;
    r.elapsed = took;
    done(r);
  }
};

std::string b(int i) { return "b" + std::to_string(i); }
std::string m(int i) { return "m" + std::to_string(i); }

}  // namespace

TEST_CASE("command slots: eight commands run at once, the ninth bottle waits", "[daemon-unit]") {
  SlotsBench t;
  for (int i = 0; i < 8; ++i) CHECK(t.ask(b(i)));
  CHECK_FALSE(t.ask(b(8)));
  CHECK(t.slots.running() == CommandSlots::kMaxCommands);
  CHECK(t.slots.waiting() == 1);
  CHECK(t.started.size() == 8);
  CHECK(t.slots.in_flight(m(7)));
  CHECK_FALSE(t.slots.in_flight(m(8)));  // waiting is not in flight
  CHECK_FALSE(t.slots.idle());
  CHECK(t.replanned.empty());
}

TEST_CASE("command slots: a freed slot goes to the first bottle in line, which is planned again", "[daemon-unit]") {
  SlotsBench t;
  for (int i = 0; i < 8; ++i) REQUIRE(t.ask(b(i)));
  REQUIRE_FALSE(t.ask(b(8)));
  REQUIRE_FALSE(t.ask(b(9)));
  REQUIRE_FALSE(t.ask(b(10)));

  t.complete(m(3));
  CHECK(t.finished == std::vector<std::string>{b(3)});
  CHECK_FALSE(t.slots.in_flight(m(3)));
  // b8's fresh plan took the slot (reserved for it, although b9 and b10 still wait); nobody else
  // was planned: the slots are full again.
  CHECK(t.replanned == std::vector<std::string>{b(8)});
  CHECK(t.slots.in_flight(m(8)));
  CHECK(t.slots.running() == 8);
  CHECK(t.slots.waiting() == 2);

  t.complete(m(0));
  t.complete(m(1));
  CHECK(t.replanned == std::vector<std::string>{b(8), b(9), b(10)});
  CHECK(t.slots.waiting() == 0);
  CHECK(t.slots.running() == 8);
}

TEST_CASE("command slots: a fresh plan without a command leaves the slot to the next bottle", "[daemon-unit]") {
  SlotsBench t;
  for (int i = 0; i < 8; ++i) REQUIRE(t.ask(b(i)));
  REQUIRE_FALSE(t.ask(b(8)));
  REQUIRE_FALSE(t.ask(b(9)));
  t.nothing_to_do = {b(8)};  // e.g. its spec is gone by now

  t.complete(m(0));
  CHECK(t.replanned == std::vector<std::string>{b(8), b(9)});
  CHECK_FALSE(t.slots.in_flight(m(8)));
  CHECK(t.slots.in_flight(m(9)));
  CHECK(t.slots.running() == 8);
  CHECK(t.slots.waiting() == 0);

  // The reservation was b8's for that one re-plan only: asking later, it waits like anyone.
  CHECK_FALSE(t.ask(b(8)));
}

TEST_CASE("command slots: a bottle that asks while others wait queues behind them", "[daemon-unit]") {
  SlotsBench t;
  t.hand_on = false;  // the slot frees before the Supervisor hands it on
  for (int i = 0; i < 8; ++i) REQUIRE(t.ask(b(i)));
  REQUIRE_FALSE(t.ask(b(8)));
  t.complete(m(0));
  REQUIRE(t.slots.running() == 7);
  CHECK_FALSE(t.ask(b(9)));  // a slot is free, but b8 was first
  t.slots.hand_out_free_slots();
  CHECK(t.replanned == std::vector<std::string>{b(8)});
  CHECK(t.slots.in_flight(m(8)));
  CHECK_FALSE(t.slots.in_flight(m(9)));
  CHECK(t.slots.waiting() == 1);
}

TEST_CASE("command slots: in-flight machines, their command kind and the time spent", "[daemon-unit]") {
  SlotsBench t;
  REQUIRE(t.ask(b(0), Action::Kind::Start));
  REQUIRE(t.ask(b(1), Action::Kind::Delete));
  CHECK(t.slots.in_flight().at(m(0)) == Action::Kind::Start);
  CHECK(t.slots.in_flight().at(m(1)) == Action::Kind::Delete);
  CHECK(t.slots.child_pids() == std::set<std::int64_t>{4242});

  t.complete(m(0), 1500us);
  t.complete(m(1), 2500us);
  CHECK(t.slots.in_flight().empty());
  CHECK(t.slots.command_time() == 4000us);
  CHECK(t.slots.idle());
}

TEST_CASE("command slots: after stop() nobody waits, nobody is planned again and nothing new starts", "[daemon-unit]") {
  SlotsBench t;
  for (int i = 0; i < 8; ++i) REQUIRE(t.ask(b(i)));
  REQUIRE_FALSE(t.ask(b(8)));
  t.slots.stop();
  CHECK(t.slots.waiting() == 0);
  for (int i = 0; i < 8; ++i) t.complete(m(i));  // running commands still finish
  CHECK(t.finished.size() == 8);
  CHECK(t.replanned.empty());
  CHECK(t.slots.idle());
  // Nothing new starts with every slot free, and nobody queues either.
  CHECK_FALSE(t.ask(b(9)));
  CHECK(t.started.empty());
  CHECK(t.slots.waiting() == 0);
  CHECK(t.slots.idle());
}
