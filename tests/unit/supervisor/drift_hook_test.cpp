// on_drift_kill's pure half: the pid a kill's detail names, and the hook's environment.
#include <catch2/catch.hpp>

#include "supervisor/drift_hook.h"

using bs::supervisor::drift_hook_env;
using bs::supervisor::pid_of_kill_detail;

TEST_CASE("drift hook: the killed pid is read from the kill's detail", "[supervisor]") {
  CHECK(pid_of_kill_detail("pid 42: booted with null (unrestricted), desired [\"127.0.0.16/32\"]") == 42);
  CHECK(pid_of_kill_detail("unverifiable: pid 7: no desired allowlist to verify against (no lease)") == 7);
  CHECK(pid_of_kill_detail("pid 4194304: x") == 4194304);
  CHECK_FALSE(pid_of_kill_detail("").has_value());
  CHECK_FALSE(pid_of_kill_detail("pid : x").has_value());
  CHECK_FALSE(pid_of_kill_detail("pid 0: x").has_value());
  CHECK_FALSE(pid_of_kill_detail("pid 123456789012: x").has_value());  // no pid has 12 digits
  CHECK_FALSE(pid_of_kill_detail("booted with pid 42").has_value());
}

TEST_CASE("drift hook: the environment names the bottle, machine, pid, detail, kind and time", "[supervisor]") {
  const auto env = drift_hook_env({"agent-1", "bottle-agent-1", "drift-killed", "pid 42: booted with null"},
                                  1796615975123);
  CHECK(env == std::map<std::string, std::string>{{"BOTTLE", "agent-1"},
                                                  {"MACHINE", "bottle-agent-1"},
                                                  {"PID", "42"},
                                                  {"DETAIL", "pid 42: booted with null"},
                                                  {"BS_EVENT_KIND", "drift-killed"},
                                                  {"BS_EVENT_TIME", "2026-12-07T03:59:35Z"}});
  CHECK(drift_hook_env({"b", "m", "drift-killed", "odd detail"}, 0).at("PID").empty());
}
