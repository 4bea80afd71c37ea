// The failure and timing knobs tests of the supervisor rely on.
#include <catch2/catch.hpp>

#include <thread>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;
using namespace std::chrono_literals;

TEST_CASE("FAIL_CREATE and FAIL_START fail like smolvm and change nothing", "[sim]") {
  SimHome home;
  auto c = home.sim({"machine", "create", "--name", "k", "--image", "alpine", "--net"},
                    {{"SMOLVM_SIM_FAIL_CREATE", "registry unreachable"}});
  CHECK(c.exit_code == 1);
  CHECK(c.out.empty());
  CHECK(c.err == "Error: config operation failed: create machine: registry unreachable\n");
  auto ls = home.sim({"machine", "ls"});
  CHECK(ls.out == "No machines found\n");

  REQUIRE(home.sim({"machine", "create", "--name", "k", "--image", "alpine", "--net"}).exit_code == 0);
  const auto row = home.row_bytes("k");
  bool written = home.db_written_during([&] {
    auto s = home.sim({"machine", "start", "--name", "k"}, {{"SMOLVM_SIM_FAIL_START", "kvm not available: test"}});
    CHECK(s.exit_code == 1);
    CHECK(s.out.empty());
    CHECK(s.err == "Error: agent operation failed: start machine: kvm not available: test\n");
  });
  CHECK_FALSE(written);
  CHECK(home.row_bytes("k") == row);
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("k") + "/agent.pid"));
}

TEST_CASE("HANG_SECS stalls a subcommand before it touches the DB", "[sim]") {
  SimHome home;
  const auto t0 = std::chrono::steady_clock::now();
  auto hung = home.sim_background({"machine", "ls"}, {{"SMOLVM_SIM_HANG_SECS", "1"}});
  // While it hangs, the DB has not even been created.
  std::this_thread::sleep_for(300ms);  // observation delay, not synchronisation: the check is the assertion
  CHECK_FALSE(bs::test::file_exists(home.db_path()));
  auto r = hung->wait();
  CHECK(r.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 >= 1s);
  CHECK(bs::test::file_exists(home.db_path()));

  // HANG_COMMANDS limits the hang to the named subcommands.
  const auto t1 = std::chrono::steady_clock::now();
  auto quick = home.sim({"machine", "ls"}, {{"SMOLVM_SIM_HANG_SECS", "5"}, {"SMOLVM_SIM_HANG_COMMANDS", "start,stop"}});
  CHECK(quick.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - t1 < 4s);
}
