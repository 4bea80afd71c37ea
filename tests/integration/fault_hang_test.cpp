// A smolvm command that hangs for one bottle only (a wrapper `smolvm` on PATH adds the sim's hang
// knob when the command names that machine): killed at command_timeout, retried with a growing
// backoff, while another bottle converges undisturbed (CONTRACT §6 "one bottle's failure never
// blocks another's").
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <algorithm>

#include "fault_support.h"

using namespace bs::integ;

TEST_CASE("fault: a hanging smolvm command is killed at the timeout and retried with backoff, others unaffected",
          "[integration][fault]") {
  ConfigOptions cfg;
  cfg.command_timeout = "1s";
  cfg.backoff_initial = "200ms";
  // A full resync re-queues every bottle, and one queued while its step runs goes again right
  // after the failure, ahead of its backoff: the harness's 1 h resync keeps resyncs out of this
  // test's window.
  TempHome h(cfg);
  h.write_config_text(config_toml(cfg) + "max = \"3s\"\n");  // [backoff] is the last table
  install_smolvm_wrapper(h, "bottle-hung", {{"SMOLVM_SIM_HANG_SECS", "60"}});

  Daemon d(h);
  d.wait_answering();
  h.write_spec("hung", spec_toml());
  h.write_spec("brisk", spec_toml());

  // Each attempt on the hung bottle is a child of the daemon naming its machine: note when each
  // one appears and when it is gone.
  std::map<std::int64_t, std::pair<Clock::time_point, std::optional<Clock::time_point>>> attempts;
  auto track = [&] {
    const auto now = Clock::now();
    auto live = children_with(d.pid(), "bottle-hung");
    for (auto pid : live) attempts.emplace(pid, std::make_pair(now, std::nullopt));
    for (auto& [pid, span] : attempts) {
      if (!span.second && std::find(live.begin(), live.end(), pid) == live.end()) span.second = now;
    }
  };

  // Meanwhile the other bottle converges: its commands do not hang.
  std::int64_t brisk_vm = 0;
  h.wait_until("bottle brisk verified while bottle hung keeps hanging", [&] {
    track();
    Json b = h.status().bottle("brisk");
    if (!verified_running(b) || !b.value("converged", false)) return false;
    brisk_vm = b["pid"];
    return true;
  }, Ms(15000));
  CHECK(h.status().bottle("hung")["converged"] == false);

  // Watch several attempts of the hung bottle (60 s hang each, 1 s timeout).
  h.wait_until("four attempts of bottle hung, each killed", [&] {
    track();
    int ended = 0;
    for (const auto& [pid, span] : attempts) ended += span.second ? 1 : 0;
    return ended >= 4;
  }, Ms(30000));

  std::vector<long long> lifetimes, gaps;
  for (const auto& [pid, span] : attempts) {
    if (!span.second) continue;
    lifetimes.push_back(std::chrono::duration_cast<Ms>(*span.second - span.first).count());
  }
  // Ordered by start (the map is ordered by pid, which may wrap): sort the spans.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;
  for (const auto& [pid, span] : attempts) {
    if (span.second) spans.emplace_back(span.first, *span.second);
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i) {
    gaps.push_back(std::chrono::duration_cast<Ms>(spans[i].first - spans[i - 1].second).count());
  }
  for (auto ms : lifetimes) {
    INFO("an attempt lived " << ms << " ms");
    CHECK(ms < 5000);  // killed at the 1 s timeout, never left to hang for its 60 s
  }
  print_metric("hung_attempt_max_ms", *std::max_element(lifetimes.begin(), lifetimes.end()));
  for (std::size_t i = 0; i < gaps.size(); ++i) print_metric("retry_gap_" + std::to_string(i) + "_ms", gaps[i]);
  // Seen from outside too: a pause of at least backoff.initial after each kill, growing.
  REQUIRE(gaps.size() >= 3);
  for (auto ms : gaps) CHECK(ms >= 150);
  CHECK(gaps.back() > gaps.front());

  // The retry delays grow (200 ms, 400 ms, 800 ms, ...): the daemon says so in its debug log.
  std::vector<long long> delays;
  const std::string log = d.log();
  std::regex retry("bottle hung: retry in ([0-9]+) ms");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), retry); it != std::sregex_iterator(); ++it) {
    delays.push_back(std::stoll((*it)[1]));
  }
  INFO("retry delays in the log: " << delays.size());
  REQUIRE(delays.size() >= 3);
  CHECK(delays[2] > delays[0]);
  CHECK(*std::max_element(delays.begin(), delays.end()) <= 3000 * 11 / 10);

  // The bottle shows the timeout between attempts, and the audit log records it.
  h.wait_until("bottle hung to show the timeout", [&] {
    Json hung = h.status().bottle("hung");
    return hung["error"].is_string() && contains(hung["error"], "timed out") && hung["converged"] == false;
  });
  CHECK_FALSE(mentioning(h.events("error", "hung"), "timed out").empty());  // repeats of one text are logged once
  CHECK_FALSE(h.row("bottle-hung"));

  // The other bottle never noticed.
  Json brisk = h.status().bottle("brisk");
  CHECK(brisk["pid"] == brisk_vm);
  CHECK(verified_running(brisk));
  CHECK(h.events("error", "brisk").empty());

  // The hang ends: the next retry goes through.
  install_smolvm_wrapper(h, "bottle-hung", {});
  Json ok = h.wait_verified("hung", Ms(20000));
  CHECK(h.booted_policy(ok["pid"]) == Json::array({ok["address"].get<std::string>() + "/32"}));
  CHECK(children_with(d.pid(), "bottle-hung").empty());
}

TEST_CASE("fault: a spec removed while its create waits for a command slot never gets a machine",
          "[integration][fault]") {
  ConfigOptions cfg;
  cfg.command_timeout = "5s";
  TempHome h(cfg);
  // Eight bottles whose creates hang fill every command slot (at most 8 smolvm commands run).
  install_smolvm_wrapper(h, "bottle-slow*", {{"SMOLVM_SIM_HANG_SECS", "60"}});
  Daemon d(h);
  d.wait_answering();
  for (int i = 0; i < 8; ++i) h.write_spec("slow" + std::to_string(i), spec_toml());
  h.wait_until("eight hanging creates", [&] { return children_with(d.pid(), "bottle-slow").size() == 8; });

  // A ninth bottle is leased, and its create waits for a slot ...
  h.write_spec("late", spec_toml());
  h.wait_until("bottle late leased", [&] { return !h.events("lease-acquired", "late").empty(); });
  CHECK(children_with(d.pid(), "bottle-late").empty());
  // ... when its spec goes. The create planned before must not run when a slot frees (the hung
  // creates are killed at the 5 s timeout): the bottle is planned again then, found removed,
  // and only its lease is given back.
  h.remove_spec("late");
  h.wait_until("bottle late's lease released", [&] { return !h.events("lease-released", "late").empty(); },
               Ms(30000));
  CHECK(h.events("created", "late").empty());
  CHECK_FALSE(h.row("bottle-late"));
  h.wait_until("bottle late forgotten", [&] { return h.status().bottle("late").is_null(); });
}
