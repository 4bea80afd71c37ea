// The daemon's hold on its state (CONTRACT §2, §7): one supervisor per smolvm DB whatever its
// state dir, and a state.db deleted under a running daemon is noticed, said loudly and rewritten.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "harness.h"

using namespace bs::integ;

TEST_CASE("a second daemon or reconcile --once on the same smolvm DB with another state dir is refused",
          "[integration]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("solo", spec_toml());
  const Json solo = h.wait_verified("solo");
  const std::string other_state = h.dir() + "/state-b";

  // Before: both ran, each patching rows and killing VMs the other had just confined.
  Daemon second(h, {}, {"run", "--state-dir", other_state, "--socket", h.dir() + "/b.sock"});
  auto code = second.wait_exit(Ms(20000));
  REQUIRE(code);
  CHECK(*code == 1);
  INFO(second.log());
  CHECK(contains(second.log(), "another bottle-supervisor already manages the smolvm DB " + h.db_path()));
  CHECK(contains(second.log(), "already running (pid " + std::to_string(d.pid()) + ", state dir " + h.state_dir() + ")"));

  RunResult once = h.cli({"reconcile", "--once", "--state-dir", other_state});
  CHECK(once.exit_code == 1);
  CHECK(contains(once.err, "already manages the smolvm DB"));

  // The first daemon was never disturbed.
  const Json after = h.wait_verified("solo");
  CHECK(after["pid"] == solo["pid"]);
  CHECK(h.events("drift-killed").empty());
  CHECK(d.stop() == 0);
}

TEST_CASE("state.db deleted under the running daemon: said loudly, rewritten, no event lost", "[integration]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("first", spec_toml());
  h.wait_verified("first");
  const std::string db = h.state_dir() + "/state.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);

  // Before: every later write went to the unlinked inode and the log at the path was gone.
  h.write_spec("second", spec_toml());
  h.wait_verified("second");
  h.wait_until("the daemon to say state.db was deleted", [&] { return contains(d.log(), db + " was deleted"); });
  Status st = h.status();
  REQUIRE(st.doc.is_object());
  REQUIRE(st.doc["supervisor"]["state_db_problem"].is_string());
  CHECK(contains(st.doc["supervisor"]["state_db_problem"].get<std::string>(), "rewritten"));
  CHECK_FALSE(h.events("lease-acquired", "first").empty());   // from before the deletion
  CHECK_FALSE(h.events("lease-acquired", "second").empty());  // and after it
  CHECK(d.stop() == 0);

  // A restart finds both bottles' state (leases, managed machines) in the rewritten file.
  Daemon again(h);
  again.wait_answering();
  const Json first = h.wait_verified("first");
  const Json second = h.wait_verified("second");
  CHECK(first["address"] != second["address"]);
  CHECK(h.events("deleted").empty());
  CHECK(again.stop() == 0);
}
