// A stray VM once killed stays dealt with: the resync that found it listed it, and planning its
// kill again every round made the bottle "not converging" until the next resync (found by the
// SIGKILL fault test, where orphaned starts leave strays behind).
#include <signal.h>

#include <catch2/catch.hpp>

#include "harness.h"
#include "platform/process.h"
#include "supervisor/vm_processes.h"

using namespace bs::integ;

TEST_CASE("fault: after a stray VM is killed its bottle converges at once, with no error", "[integration][fault]") {
  ConfigOptions cfg;
  // Only the explicit pass below finds the stray (the harness's resync is 1 h).
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("lone", spec_toml());
  const std::int64_t vm = h.wait_verified("lone")["pid"];

  ChildProcess stray({kSimBin, "_boot-vm", h.write_rogue_boot_config("bottle-lone")}, h.env());
  h.wait_until("the stray to show its _boot-vm command line", [&] {
    auto cmdline = bs::platform::read_cmdline(stray.pid());
    return cmdline && contains(*cmdline, "_boot-vm");
  });
  // A VM younger than the boot pending window may be a start whose agent.pid is not written yet:
  // only an older one that nothing names is a stray.
  h.wait_until("the stray to outlive the boot pending window", [&] {
    auto st = pid_start_time(stray.pid());
    auto age = st ? bs::platform::process_age_ms(*st) : std::nullopt;
    return age && *age > bs::supervisor::kBootPendingWindowMs;
  });
  RunResult pass = h.cli({"reconcile"});  // a full pass: it finds the stray and kills it
  INFO(pass.describe());
  REQUIRE(stray.wait_exit(Ms(5000)) == 128 + SIGKILL);
  CHECK(h.events("stray-killed", "lone").size() == 1);

  // The pass reports the bottle converged, and so does every status after it.
  CHECK(pass.exit_code == 0);
  Json b = h.status().bottle("lone");
  CHECK(b["converged"] == true);
  CHECK(b["pid"] == vm);  // the real VM is left alone
  CHECK(b["error"].is_null());
  RunResult again = h.cli({"reconcile"});
  CHECK(again.exit_code == 0);
  CHECK(h.events("error", "lone").empty());
}
