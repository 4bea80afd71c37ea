// Issue 13's first wrong answer: of two settled bottles, one spec is edited to widen its egress
// and deleted a few seconds later. The edit is acted on (the VM drift-killed and restarted with the
// wider allowlist); the deletion must be too, after the removal grace: the widened VM stopped, the
// machine deleted, the lease freed, the bottle gone from status. (It once kept running, "converged"
// on a spec path that no longer existed: the edited file was read too fresh to be cached, so the
// scan after its deletion found every file it listed a cache hit and called the folder unchanged.)
// The other bottle is never touched. The resync is 1 h, so only the spec folder's events can act.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <ctime>

#include "harness.h"

using namespace bs::integ;

namespace {

// The spec file's last change is at least `seconds` old (the supervisor trusts a file's cached
// text only once it has not changed for 2 s).
bool spec_older_than(const TempHome& h, const std::string& bottle, int seconds) {
  struct stat st {};
  return ::stat(h.spec_path(bottle).c_str(), &st) == 0 && ::time(nullptr) - st.st_ctime >= seconds;
}

Json leased_bottles(const TempHome& h) {
  RunResult r = h.cli({"leases", "--json"});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const Json doc = Json::parse(r.out);
  Json out = Json::array();
  for (const Json& l : doc["leases"]) out.push_back(l["bottle"]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("removal: a spec edited to widen its egress and deleted seconds later is removed, its neighbour untouched",
          "[integration][reaction]") {
  ConfigOptions cfg;
  cfg.removal_grace = "2s";
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("wide", spec_toml("on_remove = \"delete\""));
  h.write_spec("calm", spec_toml());
  const Json first = h.wait_verified("wide");
  const Json calm = h.wait_verified("calm");
  const std::int64_t calm_pid = calm["pid"];
  const auto calm_start = pid_start_time(calm_pid);
  REQUIRE(calm_start);
  REQUIRE(leased_bottles(h) == Json::array({"calm", "wide"}));

  // Settled: both files older than the read cache's settle time, so the edit's scan finds the
  // neighbour's text in the cache and only the edited file fresh.
  h.wait_until("both specs settled", [&] { return spec_older_than(h, "wide", 3) && spec_older_than(h, "calm", 3); });

  const auto edited = Clock::now();
  h.write_spec("wide", spec_toml("on_remove = \"delete\"\n[egress]\nallow = [\"10.0.0.0/8\"]"));
  const Json want = Json::array({"10.0.0.0/8", first["address"].get<std::string>() + "/32"});
  Json widened;
  h.wait_until("the edit acted on: a new VM booted with the wider allowlist", [&] {
    widened = h.status().bottle("wide");
    return verified_running(widened) && widened["converged"] == true && widened["pid"] != first["pid"] &&
           widened["allowlist"] == want;
  });
  const std::int64_t widened_pid = widened["pid"];
  CHECK(h.booted_policy(widened_pid) == want);
  CHECK(wait_pid_gone(first["pid"], Ms(5000)));

  SECTION("deleted as soon as the edit took effect") {}
  SECTION("deleted about 3 s after the edit, as reported") {
    // Settled by then, but no scan has read it since the edit's: it is still not in the cache.
    h.wait_until("the edited spec settled", [&] { return spec_older_than(h, "wide", 3); });
  }
  h.remove_spec("wide");
  const auto deleted = Clock::now();
  print_metric("removal_after_edit_delay", elapsed_ms(edited));

  // Within the grace the bottle is held: listed, not converged, and saying why.
  h.wait_until("bottle wide held inside the removal grace", [&] {
    Json b = h.status().bottle("wide");
    return b.is_object() && b["converged"] == false && b["error"].is_string() &&
           contains(b["error"], "spec file removed");
  });
  h.wait_until("bottle wide no longer listed", [&] { return h.status().bottle("wide").is_null(); }, Ms(15000));
  print_metric("removal_after_edit_gone", elapsed_ms(deleted));
  CHECK(elapsed_ms(deleted) >= 1900);  // not before the grace (timer granularity aside)
  CHECK(wait_pid_gone(widened_pid, Ms(5000)));
  CHECK_FALSE(h.row("bottle-wide"));
  h.wait_until("the deleted and lease-released events of wide", [&] {
    return !h.events("deleted", "wide").empty() && !h.events("lease-released", "wide").empty();
  });
  CHECK(leased_bottles(h) == Json::array({"calm"}));

  // The neighbour: the same VM all along, still verified and converged.
  Json now = h.wait_verified("calm", Ms(5000));
  CHECK(now["pid"] == calm_pid);
  CHECK(pid_start_time(calm_pid) == calm_start);
  CHECK(h.row("bottle-calm"));
  for (const char* kind : {"drift-killed", "stopped", "deleted", "started", "lease-released"}) {
    INFO(kind);
    // "started" once, when it was first brought up; nothing after.
    CHECK(h.events(kind, "calm").size() == (std::string(kind) == "started" ? 1u : 0u));
  }
}
