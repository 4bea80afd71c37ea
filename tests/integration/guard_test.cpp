// Machines no spec manages ([[guard]] rules): a guarded VM that boots unconfined is killed (or
// only reported), a confined one is left alone, an unguarded one is never signalled, a lease
// shared with a managed bottle is a conflict, and `status --all` lists every kind.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace bs::integ;

namespace {

// The fast timings, a resync longer than any wait here, and the given [[guard]] tables.
TempHome& guarded_home(TempHome& h, const std::string& action, const std::string& removal_grace = "300ms") {
  ConfigOptions o;
  o.resync_interval = "1h";
  o.removal_grace = removal_grace;
  h.write_config_text(config_toml(o) + "\n[[guard]]\nmachines = \"bot-bottle-*\"\nwithin = [\"127.0.0.16/28\"]\naction = \"" +
                      action + "\"\n");
  return h;
}

Json guarded_entry(const TempHome& h, const std::string& machine) {
  Status s = h.status();
  if (!s.doc.is_object() || !s.doc.contains("guarded")) return nullptr;
  for (const Json& m : s.doc["guarded"]) {
    if (m.value("name", "") == machine) return m;
  }
  return nullptr;
}

void create_machine(const TempHome& h, const std::string& name, const std::string& cidr) {
  RunResult r = h.sim({"machine", "create", "--name", name, "--image", "alpine:3.20", "--net", "--allow-cidr", cidr});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("guard: a bot-bottle machine booted with no policy is killed", "[integration][guard]") {
  TempHome h;
  guarded_home(h, "kill");
  // Created first: the daemon then watches an existing smolvm DB (with none yet, it looks for
  // smolvm's folder every 2 s, which this test would measure instead).
  create_machine(h, "bot-bottle-x", "127.0.0.20/32");
  Daemon d(h);
  d.wait_answering();

  const auto started = Clock::now();
  // The VM boots unconfined although the row says 127.0.0.20/32 (smolvm dropping the flag).
  RunResult start = h.sim({"machine", "start", "--name", "bot-bottle-x"}, {{"SMOLVM_SIM_FORCE_POLICY", "null"}});
  INFO(start.describe());
  // The start may return (its agent answered 100 ms after the spawn) or fail (killed before that).
  if (start.exit_code == 0) {
    const std::int64_t rogue = h.row("bot-bottle-x")->json()["pid"];
    h.wait_until("the unconfined VM to be killed", [&] { return !pid_alive(rogue); });
    print_metric("guarded_unconfined_to_killed_ms", elapsed_ms(started));
  } else {
    // Killed before its agent answered: the start itself failed, which bounds the kill's latency.
    CHECK(contains(start.err, "SIGKILL"));
    print_metric("guarded_unconfined_start_failed_after_ms", elapsed_ms(started));
  }
  std::vector<Json> kills;
  h.wait_until("the guard-killed event", [&] { return !(kills = h.events("guard-killed")).empty(); });
  REQUIRE(kills.size() == 1);
  CHECK(kills[0]["machine"] == "bot-bottle-x");
  CHECK(contains(kills[0]["detail"], "booted unconfined"));
  CHECK(contains(kills[0]["detail"], "pid "));
  // Never created, started, stopped, deleted or patched by the supervisor.
  auto row = h.row("bot-bottle-x");
  REQUIRE(row);
  CHECK(row->json()["allowed_cidrs"] == Json::array({"127.0.0.20/32"}));
  CHECK(h.events("patched").empty());
  CHECK(h.events("started").empty());
  Json entry = guarded_entry(h, "bot-bottle-x");
  CHECK(entry["kind"] == "guarded");
  CHECK(entry["pid"].is_null());
}

TEST_CASE("guard: `report` only reports a guarded violation", "[integration][guard]") {
  TempHome h;
  guarded_home(h, "report");
  Daemon d(h);
  d.wait_answering();
  create_machine(h, "bot-bottle-r", "127.0.0.21/32");
  RunResult start = h.sim({"machine", "start", "--name", "bot-bottle-r"}, {{"SMOLVM_SIM_FORCE_POLICY", "null"}});
  INFO(start.describe());
  REQUIRE(start.exit_code == 0);
  const std::int64_t pid = h.row("bot-bottle-r")->json()["pid"];
  const auto start_time = pid_start_time(pid);
  std::vector<Json> reports;
  h.wait_until("the guard-violation event", [&] { return !(reports = h.events("guard-violation")).empty(); });
  CHECK(mentions_pid(reports[0]["detail"], pid));
  // Judged again on a full pass: still alive, reported once per VM.
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.events("guard-violation").size() == 1);
  CHECK(h.events("guard-killed").empty());
  Json entry = guarded_entry(h, "bot-bottle-r");
  CHECK(entry["verdict"] == "violation");
  CHECK(entry["booted"].is_null());
  CHECK(entry["allowlist"] == Json::array({"127.0.0.21/32"}));
  CHECK(contains(h.cli({"status"}).out, "warning: guarded machine bot-bottle-r breaks its rule (report)"));
}

TEST_CASE("guard: confined is guarded-ok, unguarded is never signalled, status --all shows all kinds",
          "[integration][guard]") {
  TempHome h;
  guarded_home(h, "kill");
  Daemon d(h);
  d.wait_answering();
  h.write_spec("web", spec_toml());
  h.wait_verified("web");

  create_machine(h, "bot-bottle-ok", "127.0.0.20/32");
  RunResult ok_start = h.sim({"machine", "start", "--name", "bot-bottle-ok"});
  INFO(ok_start.describe());
  REQUIRE(ok_start.exit_code == 0);
  const std::int64_t ok_pid = h.row("bot-bottle-ok")->json()["pid"];
  const auto ok_start_time = pid_start_time(ok_pid);

  // No rule matches "scratch": unconfined, so a warning; never a signal.
  RunResult created = h.sim({"machine", "create", "--name", "scratch", "--image", "alpine:3.20", "--net"});
  REQUIRE(created.exit_code == 0);
  RunResult scratch_start = h.sim({"machine", "start", "--name", "scratch"});
  REQUIRE(scratch_start.exit_code == 0);
  const std::int64_t scratch_pid = h.row("scratch")->json()["pid"];
  const auto scratch_start_time = pid_start_time(scratch_pid);

  h.wait_until("both judged", [&] {
    Json ok = guarded_entry(h, "bot-bottle-ok"), scratch = guarded_entry(h, "scratch");
    return ok.is_object() && ok["verdict"] == "ok" && scratch.is_object() && scratch["verdict"] == "unconfined";
  });
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pid_start_time(ok_pid) == ok_start_time);
  CHECK(pid_start_time(scratch_pid) == scratch_start_time);
  CHECK(h.events("guard-killed").empty());
  CHECK(h.events("guard-violation").empty());

  Json scratch = guarded_entry(h, "scratch");
  CHECK(scratch["kind"] == "unmanaged");
  CHECK(scratch["booted"].is_null());
  CHECK(scratch["pid"] == scratch_pid);
  Json ok = guarded_entry(h, "bot-bottle-ok");
  CHECK(ok["kind"] == "guarded");
  CHECK(ok["booted"] == Json::array({"127.0.0.20/32"}));

  RunResult all = h.cli({"status", "--all"});
  INFO(all.describe());
  CHECK(contains(all.out, "warning: machine scratch (no spec, no [[guard]] rule) runs unconfined"));
  CHECK(contains(all.out, "bottle-web"));
  CHECK(contains(all.out, "managed"));
  CHECK(contains(all.out, "guarded-ok"));
  CHECK(contains(all.out, "unmanaged"));
  CHECK(contains(all.out, "null (unconfined)"));
  CHECK(contains(d.log(), "unmanaged machine scratch"));
}

TEST_CASE("guard: a machine outside the specs allowing a bottle's address is a lease conflict",
          "[integration][guard]") {
  TempHome h;
  guarded_home(h, "kill");
  Daemon d(h);
  d.wait_answering();
  h.write_spec("web", spec_toml("state = \"stopped\"\n"));
  h.wait_until("web leased and converged", [&] {
    Json b = h.status().bottle("web");
    return b.is_object() && b["address"] == "127.0.0.16" && b["converged"] == true;
  });
  create_machine(h, "bot-bottle-c", "127.0.0.16/32");
  std::vector<Json> conflicts;
  h.wait_until("the lease-conflict event", [&] { return !(conflicts = h.events("lease-conflict", "web")).empty(); });
  CHECK(conflicts[0]["machine"] == "bot-bottle-c");

  h.write_spec("web", spec_toml());  // now it should run: refused on the shared address
  h.wait_until("the refusal", [&] {
    Json b = h.status().bottle("web");
    return b.is_object() && b["error"].is_string() && contains(b["error"], "not started: address 127.0.0.16");
  });
  CHECK(h.events("started", "web").empty());
  Json entry = guarded_entry(h, "bot-bottle-c");
  REQUIRE(entry.is_object());
  CHECK(entry["lease_conflicts"] == Json::array({{{"bottle", "web"}, {"address", "127.0.0.16"}}}));
  CHECK(h.status().bottle("web")["lease_conflicts"] ==
        Json::array({{{"machine", "bot-bottle-c"}, {"address", "127.0.0.16"}}}));
  CHECK(contains(h.cli({"status"}).out, "warning: lease conflict: machine bot-bottle-c allows 127.0.0.16"));
  CHECK(contains(d.log(), "lease conflict"));

  // The launcher's side: the supervisor's leases, read without the daemon.
  RunResult leases = h.cli({"leases", "--json"});
  INFO(leases.describe());
  REQUIRE(leases.exit_code == 0);
  Json doc = Json::parse(leases.out);
  CHECK(doc["leases"][0]["bottle"] == "web");
  CHECK(doc["leases"][0]["address"] == "127.0.0.16");
}

TEST_CASE("guard: adopt takes a running machine in without restarting it and release hands it back",
          "[integration][guard]") {
  TempHome h;
  guarded_home(h, "kill", "1h");  // release comes after the spec is gone, long before its removal
  Daemon d(h);
  d.wait_answering();
  create_machine(h, "bot-bottle-a", "127.0.0.22/32");
  REQUIRE(h.sim({"machine", "start", "--name", "bot-bottle-a"}).exit_code == 0);
  const std::int64_t pid = h.row("bot-bottle-a")->json()["pid"];
  const auto start_time = pid_start_time(pid);

  // The spec a launcher writes when it hands a machine over names the address the machine already
  // allows. The daemon may be in the bottle's first step when the command arrives ("busy; try
  // again"), and that step may itself adopt the machine the spec names: either way it ends
  // managed by `agent`, its VM untouched.
  h.write_spec("agent", spec_toml("machine = \"bot-bottle-a\"\nloopback = \"127.0.0.22\"\n"));
  RunResult adopt;
  h.wait_until("adopt to be answered", [&] {
    adopt = h.cli({"adopt", "agent", "--machine", "bot-bottle-a", "--json"});
    return !contains(adopt.out + adopt.err, "busy; try again");
  });
  INFO(adopt.describe());
  REQUIRE((adopt.exit_code == 0 || contains(adopt.out, "is managed by bottle 'agent'")));
  Json b = h.wait_verified("agent");
  INFO("kills: " << Json(h.events("drift-killed")).dump() << Json(h.events("guard-killed")).dump());
  CHECK(b["pid"] == pid);
  CHECK(b["address"] == "127.0.0.22");
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.events("drift-killed").empty());

  RunResult refused = h.cli({"release", "agent"});
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.err, "still has its spec"));

  h.remove_spec("agent");
  RunResult release = h.cli({"release", "agent"});
  INFO(release.describe());
  REQUIRE(release.exit_code == 0);
  h.wait_until("bot-bottle-a guarded again", [&] {
    Json e = guarded_entry(h, "bot-bottle-a");
    return e.is_object() && e["verdict"] == "ok";
  });
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.events("stopped").empty());
  CHECK(h.events("deleted").empty());
  Json doc = Json::parse(h.cli({"leases", "--json"}).out);
  CHECK(doc["leases"].empty());
}
