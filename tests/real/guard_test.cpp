// [[guard]] against real smolvm ([boot]: skips, with the boot probe's reason, where VMs cannot
// boot): a bot-bottle-style machine no spec manages, opened while stopped (`machine update
// --reset-allow-list`, as a buggy launcher could) and started, is killed the moment its booted
// policy is read; one started confined inside `within` is left running.
#include <catch2/catch.hpp>

#include "real/real_smolvm.h"

using namespace bs::real;

namespace {

const Ms kGuardBoot(180000);

void add_guard_rule(const RealHome& h) {
  std::string text = config_toml(RealHome::real_config());
  const std::string section = "[smolvm]\n";
  text.insert(text.find(section) + section.size(), "bin = " + Json(real_smolvm().path).dump() + "\n");
  h.write_config_text(text + "\n[[guard]]\nmachines = \"bot-bottle-*\"\nwithin = [\"127.0.0.16/28\"]\naction = \"kill\"\n");
}

void create_launcher_machine(const RealHome& h, const ProbeResult& p, const std::string& name, const std::string& cidr) {
  RunResult r = h.smolvm({"machine", "create", "--name", name, "--from", p.from, "--net", "--allow-cidr", cidr});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("real boot: a guarded machine started unconfined is killed and a confined one left alone", "[real][boot]") {
  ProbeResult p = require_bootable();
  RealHome h;
  add_guard_rule(h);
  create_launcher_machine(h, p, "bot-bottle-open", "127.0.0.20/32");
  create_launcher_machine(h, p, "bot-bottle-ok", "127.0.0.21/32");
  RunResult opened = h.smolvm({"machine", "update", "--name", "bot-bottle-open", "--net", "--reset-allow-list"});
  INFO(opened.describe());
  REQUIRE(opened.exit_code == 0);

  Daemon d(h);
  d.wait_answering();
  RunResult ok_start = h.smolvm({"machine", "start", "--name", "bot-bottle-ok"}, kGuardBoot);
  INFO(ok_start.describe());
  REQUIRE(ok_start.exit_code == 0);
  const auto ok_pid = h.agent_pid("bot-bottle-ok");
  REQUIRE(ok_pid);

  const auto t0 = Clock::now();
  RunResult open_start = h.smolvm({"machine", "start", "--name", "bot-bottle-open"}, kGuardBoot);
  std::vector<Json> kills;
  h.wait_until("the guard-killed event", [&] { return !(kills = h.events("guard-killed")).empty(); }, kGuardBoot);
  print_metric("real-guarded-unconfined-to-killed-ms", elapsed_ms(t0));
  CHECK(kills[0]["machine"] == "bot-bottle-open");
  CHECK(contains(kills[0]["detail"], "booted unconfined"));

  h.cli({"reconcile"});
  CHECK(pid_alive(*ok_pid));
  Status s = h.status();
  bool listed_ok = false;
  for (const Json& m : s.doc["guarded"]) {
    if (m["name"] == "bot-bottle-ok") listed_ok = m["verdict"] == "ok" && m["pid"] == *ok_pid;
  }
  CHECK(listed_ok);
  CHECK(h.events("patched").empty());
  CHECK(h.row("bot-bottle-open")->json()["allowed_cidrs"].is_null());  // never patched by us
}
