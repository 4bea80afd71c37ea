// What the supervisor must never do, and the one kill it must do: never signal a pid it cannot
// prove is the VM (CONTRACT §6 step 4), never touch unmanaged machines (§6 step 7), and kill a
// stray `_boot-vm` of a managed machine on resync (§6 step 8).
#include <signal.h>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace bs::integ;

TEST_CASE("a row pid that belongs to an unrelated process is never signalled", "[integration]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("guard", spec_toml("state = \"stopped\""));
  h.wait_until("bottle guard created, confined and stopped", [&] {
    Json b = h.status().bottle("guard");
    return b.is_object() && b["actual"] == "stopped" && b["confinement"] == "verified" && b.value("converged", false);
  });

  ChildProcess sleeper({"/bin/sleep", "60"}, h.env());
  std::optional<std::uint64_t> sleeper_start;
  REQUIRE(poll_until([&] { return (sleeper_start = pid_start_time(sleeper.pid())).has_value(); }, Ms(2000)));
  // A recycled pid: the row names a live process, but with another start time (and then none).
  auto claim = [&](const nlohmann::ordered_json& start_time) {
    update_row(h.db_path(), "bottle-guard", [&](nlohmann::ordered_json& rec) {
      rec["state"] = "running";
      rec["pid"] = sleeper.pid();
      rec["pid_start_time"] = start_time;
    });
    RunResult pass = h.cli({"reconcile"});  // returns once a full pass is done
    INFO(pass.describe());
    CHECK(pass.exit_code != 3);
    CHECK_FALSE(sleeper.poll_exit());
    CHECK(pid_start_time(sleeper.pid()) == sleeper_start);
  };
  claim(nullptr);  // no start time, and its command line names no boot-config.json
  claim(*sleeper_start + 12345);

  h.write_spec("guard", spec_toml());
  Json b = h.wait_verified("guard");
  CHECK(b["pid"] != sleeper.pid());
  CHECK(h.booted_policy(b["pid"]) == kFirstAllowlist);
  CHECK_FALSE(sleeper.poll_exit());
  CHECK(pid_start_time(sleeper.pid()) == sleeper_start);
  CHECK(h.events("drift-killed").empty());
  CHECK(h.events("stray-killed").empty());
}

TEST_CASE("a stray _boot-vm of a managed machine is killed once its boot pending window has passed", "[integration]") {
  // No resync: the VM's reading of its boot-config.json (the data-dir watch) is what finds it.
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("strayed", spec_toml());
  const std::int64_t vm = h.wait_verified("strayed")["pid"];

  // Started by us, so we know its pid: it names the machine's boot config, the row does not name it.
  ChildProcess stray({kSimBin, "_boot-vm", h.write_rogue_boot_config("bottle-strayed")}, h.env());
  const auto started = Clock::now();
  h.wait_until("the stray _boot-vm (pid " + std::to_string(stray.pid()) + ") to be killed",
               [&] { return stray.poll_exit().has_value(); }, Ms(15000));
  CHECK(stray.poll_exit() == 128 + SIGKILL);
  // Not before its boot pending window has passed: it might have been a start whose agent.pid
  // was not written yet.
  print_metric("stray_kill_ms", elapsed_ms(started));

  std::vector<Json> kills;
  h.wait_until("the stray-killed event", [&] { return !(kills = h.events("stray-killed", "strayed")).empty(); });
  REQUIRE(kills.size() == 1);
  CHECK(mentions_pid(kills[0]["detail"], stray.pid()));
  Json b = h.wait_verified("strayed");
  CHECK(b["pid"] == vm);  // the real VM is left alone
  CHECK(h.events("drift-killed").empty());
}

TEST_CASE("an unmanaged machine is never touched", "[integration]") {
  TempHome h;
  RunResult created = h.sim({"machine", "create", "--name", "stranger", "--image", "alpine:3.20", "--net"});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
  REQUIRE(h.sim({"machine", "start", "--name", "stranger"}).exit_code == 0);
  const auto before = h.row("stranger");
  REQUIRE(before);
  REQUIRE(before->json()["allowed_cidrs"].is_null());
  const std::int64_t pid = before->json()["pid"];
  const auto start_time = pid_start_time(pid);
  REQUIRE(start_time);

  Daemon d(h);
  d.wait_answering();
  h.write_spec("managed", spec_toml());
  h.wait_verified("managed");
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pass.exit_code == 0);

  const auto after = h.row("stranger");
  REQUIRE(after);
  CHECK(after->data == before->data);  // byte for byte
  CHECK(after->blob);
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.status().bottle("stranger").is_null());
  for (const Json& e : h.events()) {
    CHECK(e.value("machine", "") != "stranger");
    CHECK_FALSE(contains(e.value("detail", ""), "stranger"));
  }
}
