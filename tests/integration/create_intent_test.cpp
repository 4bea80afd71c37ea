// A machine is recorded as its bottle's before smolvm creates it (issue 14, M4): a supervisor
// killed while `machine create` runs, with the spec removed before it comes back, must not leave
// an orphan machine whose allowlist names an address that is leased to another bottle later.
#include <signal.h>

#include <catch2/catch.hpp>

#include "fault_support.h"

using namespace bs::integ;

TEST_CASE("a supervisor killed during a create, the spec removed meanwhile: the machine is removed, not orphaned",
          "[integration][fault]") {
  // The row as another reader sees it; before the first create smolvm's DB may have no vms table.
  auto row_exists = [](const TempHome& home) {
    try {
      return home.row("bottle-orphan").has_value();
    } catch (const std::exception&) {
      return false;
    }
  };
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  // Every create of bottle-orphan takes 3 s before smolvm touches its DB.
  const std::string log = h.dir() + "/smolvm-commands.log";
  install_smolvm_wrapper(h, "bottle-orphan", {{"SMOLVM_SIM_HANG_SECS", "3"}, {"SMOLVM_SIM_HANG_COMMANDS", "create"}},
                         log);
  {
    Daemon d(h);
    d.wait_answering();
    h.write_spec("orphan", spec_toml());
    h.wait_until("the create of bottle-orphan runs", [&] {
      return bs::test::file_exists(log) && contains(read_file(log), "machine create");
    });
    REQUIRE_FALSE(row_exists(h));  // still hanging: nothing created yet
    d.signal(SIGKILL);
    REQUIRE(d.wait_exit(Ms(10000)));
  }
  h.remove_spec("orphan");
  // The create the dead supervisor started completes on its own.
  h.wait_until("the orphaned create finished", [&] { return row_exists(h); });

  Daemon d(h);
  d.wait_answering();
  h.wait_until("bottle-orphan deleted by the next supervisor", [&] { return !row_exists(h); });
  h.wait_until("the bottle is gone from status", [&] { return h.status().bottle("orphan").is_null(); });
  CHECK(h.status().doc["bottles"].empty());
  CHECK_FALSE(h.events("deleted", "orphan").empty());  // removed as its bottle's, with the event
}
