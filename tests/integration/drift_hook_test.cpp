// The optional on_drift_kill hook (config): run once per drift kill, the event in its
// environment, never blocking the loop; its failure logged, not fatal.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "harness.h"

using namespace bs::integ;

TEST_CASE("on_drift_kill runs with the drift kill in its environment; its failure is only logged", "[integration]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";  // the drift kill under test is driven by the DB watch
  TempHome h(cfg);
  const std::string out = h.dir() + "/hook.out";
  const std::string script = h.dir() + "/hook.sh";
  {
    std::ofstream f(script);
    // Appends its arguments and environment, then fails: the daemon must log that and go on.
    f << "#!/bin/sh\n{ echo \"ARGS=$*\"; env; echo --; } >> '" << out << "'\nexit 3\n";
  }
  REQUIRE(::chmod(script.c_str(), 0700) == 0);
  cfg.extra_top = "on_drift_kill = [\"" + script + "\", \"drift kill\", \"--urgent\"]\n";
  h.write_config(cfg);

  Daemon d(h);
  d.wait_answering();
  h.write_spec("hooked", spec_toml("state = \"stopped\"\n"));
  h.wait_until("the stopped bottle to converge", [&] { return h.status().bottle("hooked")["converged"] == true; });
  CHECK(read_file(out).empty());  // nothing ran for creates, patches, verifications

  // Someone boots the machine with no egress policy at all: drift-killed at once.
  RunResult r = h.sim({"machine", "start", "--name", "bottle-hooked"}, {{"SMOLVM_SIM_FORCE_POLICY", "null"}});
  INFO("out-of-band start: " << r.describe());
  std::vector<Json> kills;
  h.wait_until("the drift-killed event", [&] { return !(kills = h.events("drift-killed", "hooked")).empty(); });
  const std::string detail = kills.front()["detail"];
  h.wait_until("the hook to have run", [&] { return contains(read_file(out), "\n--\n"); });
  h.wait_until("the hook's failure to be logged", [&] { return contains(d.log(), "on_drift_kill"); });

  const std::string env = read_file(out);
  INFO(env);
  CHECK(contains(env, "ARGS=drift kill --urgent\n"));
  CHECK(contains(env, "\nBOTTLE=hooked\n"));
  CHECK(contains(env, "\nMACHINE=bottle-hooked\n"));
  CHECK(contains(env, "\nBS_EVENT_KIND=drift-killed\n"));
  CHECK(contains(env, "\nDETAIL=" + detail + "\n"));
  CHECK(contains(env, "\nBS_EVENT_TIME=20"));
  const auto pid_at = env.find("\nPID=");
  REQUIRE(pid_at != std::string::npos);
  const std::string pid = env.substr(pid_at + 5, env.find('\n', pid_at + 1) - pid_at - 5);
  CHECK_FALSE(pid.empty());
  CHECK(contains(detail, "pid " + pid));
  // One kill, one run.
  CHECK(env.find("ARGS=") == env.rfind("ARGS="));

  const std::string log = d.log();
  INFO(log);
  CHECK(contains(log, "on_drift_kill " + script + " exited 3"));
  // The daemon carries on: the bottle is stopped and confined again.
  h.wait_until("the bottle to converge again", [&] { return h.status().bottle("hooked")["converged"] == true; });
}
