// Invalid specs (CONTRACT §3: positioned errors, a bottle never created from an invalid spec, a
// running bottle kept on its last valid spec), `validate` and `reconcile --once` (§7).
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <regex>

#include "harness.h"

using namespace bs::integ;

namespace {

bool has_position(const Json& error, const std::string& file) {
  return error.is_string() &&
         std::regex_search(error.get<std::string>(), std::regex(std::regex_replace(file, std::regex(R"([.])"), R"(\.)") +
                                                                ":[0-9]+:[0-9]+"));
}

}  // namespace

TEST_CASE("an invalid spec shows its position in status and leaves other bottles alone", "[integration]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("good", spec_toml());
  const std::int64_t pid = h.wait_verified("good")["pid"];
  const auto start_time = pid_start_time(pid);

  h.write_spec("bad", spec_toml("cpus = \"two\""));
  Json bad;
  h.wait_until("bottle bad listed with a positioned error", [&] {
    bad = h.status().bottle("bad");
    return bad.is_object() && has_position(bad["error"], "bad.toml");
  });
  CHECK(bad["converged"] == false);
  CHECK(bad["confinement"] == "n/a");
  CHECK(h.status().exit_code == 1);
  CHECK_FALSE(h.row("bottle-bad"));  // a bottle first seen invalid is not created
  Json good = h.wait_verified("good");
  CHECK(good["pid"] == pid);
  CHECK(h.status({"good"}).exit_code == 0);

  // The running bottle's spec turns invalid: it keeps its last valid state and shows the error.
  h.write_spec("good", spec_toml("memory = 1"));
  h.wait_until("bottle good showing its spec's error", [&] {
    good = h.status().bottle("good");
    return good.is_object() && has_position(good["error"], "good.toml");
  });
  CHECK(good["actual"] == "running");
  CHECK(good["pid"] == pid);
  CHECK(good["converged"] == false);
  CHECK(h.status({"good"}).exit_code == 1);
  CHECK(pid_start_time(pid) == start_time);
  CHECK(h.row("bottle-good"));
  CHECK(h.events("stopped", "good").empty());
  CHECK(h.events("deleted", "good").empty());
}

TEST_CASE("reconcile --once converges without a daemon, and exits 1 with an invalid spec", "[integration]") {
  TempHome h;
  h.write_spec("once", spec_toml());
  RunResult r = h.cli({"reconcile", "--once"});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);

  auto row = h.row("bottle-once");
  REQUIRE(row);
  auto rec = row->json();
  CHECK(rec["allowed_cidrs"] == kFirstAllowlist);
  REQUIRE(rec["pid"].is_number_integer());
  const std::int64_t pid = rec["pid"];
  CHECK(pid_start_time(pid) == rec["pid_start_time"].get<std::uint64_t>());
  CHECK(h.booted_policy(pid) == kFirstAllowlist);
  CHECK(h.status().exit_code == 3);  // it did not stay behind as a daemon
  // What the pass did, one line per bottle and action, from the events it wrote.
  CHECK(r.out.find("once: lease-acquired") != std::string::npos);
  CHECK(r.out.find("once: created") != std::string::npos);
  CHECK(r.out.find("once: started") != std::string::npos);

  // A second pass has nothing to do; --json gives the pass's events as JSON Lines (none).
  RunResult again = h.cli({"reconcile", "--once", "--json"});
  INFO(again.describe());
  CHECK(again.exit_code == 0);
  CHECK(again.out.empty());

  h.write_spec("broken", spec_toml("[egress]\nallow = [\"not-a-cidr\"]"));
  RunResult bad = h.cli({"reconcile", "--once"});
  INFO(bad.describe());
  CHECK(bad.exit_code == 1);
  CHECK(pid_start_time(pid) == rec["pid_start_time"].get<std::uint64_t>());
}

TEST_CASE("validate: exit 0 for a valid spec, exit 1 and file:line:col for an invalid one", "[integration]") {
  TempHome h;
  const std::string good = h.dir() + "/valid.toml", bad = h.dir() + "/invalid.toml";
  {
    std::ofstream(good) << spec_toml("cpus = 2\n[egress]\nallow = [\"10.0.0.0/8\"]");
    std::ofstream(bad) << "image = \"alpine:3.20\"\nmemory = 3\n";
  }
  RunResult ok = h.cli({"validate", good});
  INFO(ok.describe());
  CHECK(ok.exit_code == 0);

  RunResult ko = h.cli({"validate", bad});
  INFO(ko.describe());
  CHECK(ko.exit_code == 1);
  CHECK(std::regex_search(ko.out + ko.err, std::regex(std::regex_replace(bad, std::regex(R"([.])"), R"(\.)") +
                                                      ":2:[0-9]+: [^\n]*memory")));

  RunResult both = h.cli({"validate", good, bad});
  CHECK(both.exit_code == 1);
}

TEST_CASE("events -n 5 -f --kind: the last five of that kind first, then new ones, until SIGINT", "[integration]") {
  TempHome h;
  for (int i = 1; i <= 6; ++i) h.write_spec("e" + std::to_string(i), spec_toml());
  // Leases come first in a pass, whatever happens to the creates after (the sim may refuse some
  // of six concurrent creates with "database is locked": this test is about the log).
  RunResult first = h.cli({"reconcile", "--once"});
  INFO(first.describe());
  REQUIRE(contains(first.out, "e6: lease-acquired"));

  const std::string log = h.dir() + "/follow.log";
  ChildProcess follower({kSupervisorBin, "events", "-n", "5", "-f", "--kind", "lease-acquired", "--json"}, h.env(),
                        log);
  auto lines = [&] {
    std::vector<Json> out;
    std::string text = read_file(log);
    text.erase(text.find_last_of('\n') == std::string::npos ? 0 : text.find_last_of('\n') + 1);  // whole lines only
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(Json::parse(l));
    return out;
  };
  h.wait_until("the last five lease-acquired events", [&] { return lines().size() >= 5; });
  auto shown = lines();
  REQUIRE(shown.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(shown[static_cast<std::size_t>(i)]["bottle"] == "e" + std::to_string(i + 2));
    CHECK(shown[static_cast<std::size_t>(i)]["kind"] == "lease-acquired");
  }

  h.write_spec("e7", spec_toml());
  RunResult second = h.cli({"reconcile", "--once"});
  INFO(second.describe());
  REQUIRE(contains(second.out, "e7: lease-acquired"));
  h.wait_until("the new lease-acquired event", [&] { return lines().size() >= 6; });
  shown = lines();
  CHECK(shown.size() == 6);  // e7's created and started events are not of the kind
  CHECK(shown.back()["bottle"] == "e7");

  follower.signal(SIGINT);
  CHECK(follower.wait_exit(Ms(10000)) == 0);
}
