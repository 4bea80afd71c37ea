// Guard rules: the [[guard]] config tables, glob matching, the verdict on a machine no spec
// manages, and lease conflicts. Tables of (observation in, verdict out).
#include <catch2/catch.hpp>

#include <string>

#include "reconcile/config.h"
#include "reconcile/guard.h"

namespace {

bs::Cidr gcidr(const char* s) { return *bs::parse_cidr(s); }
bs::Ipv4 gip(const char* s) { return *bs::parse_ipv4(s); }
bs::Policy glist(std::vector<const char*> cidrs) {
  std::vector<bs::Cidr> out;
  for (const char* c : cidrs) out.push_back(gcidr(c));
  return bs::Policy::of(bs::make_allowlist(out));
}

bs::MachineObservation grunning(bs::Policy booted, bs::Policy row) {
  bs::MachineObservation obs;
  obs.row = bs::MachineObservation::Row::Ok;
  obs.allowed = std::move(row);
  obs.vm = bs::RunningVm{4242, 99, std::move(booted), 0};
  return obs;
}

const bs::GuardRule kGuardKill{"bot-bottle-*", {gcidr("127.0.0.16/28")}, bs::GuardRule::Action::Kill};
const bs::GuardRule kGuardReport{"bot-bottle-*", {gcidr("127.0.0.16/28")}, bs::GuardRule::Action::Report};

}  // namespace

TEST_CASE("guard: globs match machine names like fnmatch without classes", "[reconcile][guard]") {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  const Case cases[] = {
      {"bot-bottle-*", "bot-bottle-x", true},     {"bot-bottle-*", "bot-bottle-", true},
      {"bot-bottle-*", "bot-bottlex", false},     {"bot-bottle-*", "xbot-bottle-1", false},
      {"*", "anything", true},                    {"*", "", true},
      {"a?c", "abc", true},                       {"a?c", "ac", false},
      {"*-agent-*", "bot-agent-7", true},         {"*-agent-*", "bot-agent", false},
      {"exact", "exact", true},                   {"exact", "exact2", false},
      {"a*b*c", "aXXbYYc", true},                 {"a*b*c", "aXXbYY", false},
      {"**", "x", true},                          {"*a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false},
  };
  for (const Case& c : cases) {
    INFO(c.pattern << " vs " << c.name);
    CHECK(bs::glob_match(c.pattern, c.name) == c.match);
  }
}

TEST_CASE("guard: the first matching rule in file order applies", "[reconcile][guard]") {
  std::vector<bs::GuardRule> rules = {
      {"bot-bottle-dev*", {gcidr("127.0.0.16/28")}, bs::GuardRule::Action::Report},
      {"bot-bottle-*", {gcidr("127.0.0.16/28")}, bs::GuardRule::Action::Kill},
  };
  REQUIRE(bs::guard_rule_for(rules, "bot-bottle-dev1") == &rules[0]);
  REQUIRE(bs::guard_rule_for(rules, "bot-bottle-ci") == &rules[1]);
  REQUIRE(bs::guard_rule_for(rules, "other") == nullptr);
}

TEST_CASE("guard: the verdict on a machine no spec manages", "[reconcile][guard]") {
  using V = bs::GuardVerdict;
  struct Case {
    const char* what;
    bs::MachineObservation obs;
    const bs::GuardRule* rule;
    V verdict;
    bool kill;
    const char* why_contains;
  };
  bs::MachineObservation stopped;
  stopped.row = bs::MachineObservation::Row::Ok;
  stopped.allowed = bs::Policy::unrestricted();
  bs::MachineObservation db_down = grunning(glist({"127.0.0.20/32"}), {});
  db_down.row = bs::MachineObservation::Row::DbUnavailable;
  db_down.problem = "locked";
  bs::MachineObservation db_down_open = grunning(bs::Policy::unrestricted(), {});
  db_down_open.row = bs::MachineObservation::Row::DbUnavailable;
  bs::MachineObservation row_gone = grunning(glist({"127.0.0.20/32"}), {});
  row_gone.row = bs::MachineObservation::Row::Missing;
  const Case cases[] = {
      {"not running", stopped, &kGuardKill, V::NotRunning, false, ""},
      {"confined inside within, as the row says", grunning(glist({"127.0.0.20/32"}), glist({"127.0.0.20/32"})),
       &kGuardKill, V::Ok, false, ""},
      {"the whole pool is inside the pool", grunning(glist({"127.0.0.16/28"}), glist({"127.0.0.16/28"})), &kGuardKill,
       V::Ok, false, ""},
      {"booted null", grunning(bs::Policy::unrestricted(), glist({"127.0.0.20/32"})), &kGuardKill, V::Violation,
       true, "booted unconfined"},
      {"booted null, report only", grunning(bs::Policy::unrestricted(), glist({"127.0.0.20/32"})), &kGuardReport,
       V::Violation, false, "booted unconfined"},
      {"booted outside within", grunning(glist({"127.0.0.20/32", "10.0.0.0/8"}), glist({"127.0.0.20/32", "10.0.0.0/8"})),
       &kGuardKill, V::Violation, true, "10.0.0.0/8, outside [\"127.0.0.16/28\"]"},
      {"a wider network than within", grunning(glist({"127.0.0.0/24"}), glist({"127.0.0.0/24"})), &kGuardKill,
       V::Violation, true, "127.0.0.0/24"},
      {"booted differs from the row", grunning(glist({"127.0.0.20/32"}), glist({"127.0.0.21/32"})), &kGuardKill,
       V::Violation, true, "the row says"},
      {"row opened to null after the boot", grunning(glist({"127.0.0.20/32"}), bs::Policy::unrestricted()),
       &kGuardKill, V::Violation, true, "the row says null"},
      {"booted policy unreadable", grunning(bs::Policy::invalid("bad json"), glist({"127.0.0.20/32"})), &kGuardKill,
       V::Violation, true, "unreadable"},
      {"booted policy pending", grunning(bs::Policy::pending("agent.pid"), glist({"127.0.0.20/32"})), &kGuardKill,
       V::Pending, false, "pending"},
      {"DB unreadable, booted inside: never killed for smolvm's trouble", db_down, &kGuardKill, V::Ok, false,
       "cannot be read"},
      {"DB unreadable, booted null: still killed", db_down_open, &kGuardKill, V::Violation, true, "unconfined"},
      {"row gone under a running VM", row_gone, &kGuardKill, V::Violation, true, "row is gone"},
      {"no rule, booted null: unconfined, never killed", grunning(bs::Policy::unrestricted(), glist({"127.0.0.20/32"})),
       nullptr, V::Unconfined, false, "unconfined"},
      {"no rule, confined", grunning(glist({"10.0.0.0/8"}), glist({"10.0.0.0/8"})), nullptr, V::Unchecked, false, ""},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    bs::GuardJudgement j = bs::judge_outside_machine(c.obs, c.rule);
    CHECK(j.verdict == c.verdict);
    CHECK(j.kill == c.kill);
    CHECK_THAT(j.why, Catch::Contains(c.why_contains));
  }
}

TEST_CASE("guard: lease conflicts are loopback entries holding a leased address", "[reconcile][guard]") {
  const std::map<std::string, bs::Ipv4> leases = {{"web", gip("127.0.0.16")}, {"db", gip("127.0.0.17")}};
  std::map<std::string, bs::Policy> outside = {
      {"bot-bottle-a", glist({"127.0.0.16/32"})},
      {"bot-bottle-b", glist({"127.0.0.20/32"})},
      {"open", bs::Policy::unrestricted()},
      {"wide", glist({"0.0.0.0/0"})},
      {"pool", glist({"127.0.0.16/31", "10.0.0.0/8"})},
  };
  auto conflicts = bs::find_lease_conflicts(outside, leases);
  std::vector<bs::LeaseConflict> want = {
      {"bot-bottle-a", "web", gip("127.0.0.16")},
      {"pool", "db", gip("127.0.0.17")},
      {"pool", "web", gip("127.0.0.16")},
  };
  CHECK(conflicts == want);
  CHECK(bs::describe_lease_conflicts({want[0]}) ==
        "address 127.0.0.16 is also in the allowlist of machine 'bot-bottle-a', which no spec manages");
}

TEST_CASE("guard: [[guard]] tables in the config", "[reconcile][guard]") {
  auto c = bs::parse_config("/c.toml", R"([[guard]]
machines = "bot-bottle-*"
within = ["127.0.0.16/28"]
action = "kill"

[[guard]]
machines = "scratch-?"
within = ["127.0.0.32/28", "10.1.2.3/8"]
action = "report"
)");
  REQUIRE(c.has_value());
  REQUIRE(c->guards.size() == 2);
  CHECK(c->guards[0] == kGuardKill);
  CHECK(c->guards[1].machines == "scratch-?");
  CHECK(bs::to_string(bs::Allowlist(c->guards[1].within)) == "[\"127.0.0.32/28\", \"10.0.0.0/8\"]");
  CHECK(c->guards[1].action == bs::GuardRule::Action::Report);
  CHECK(bs::parse_config("/c.toml", "")->guards.empty());
}

TEST_CASE("guard: bad [[guard]] tables name file, line, column and key", "[reconcile][guard]") {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"[[guard]]\nmachines = \"a*\"\nwithin = [\"127.0.0.16/28\"]\naction = \"stop\"\n",
       "/c.toml:4:10: key 'guard[0].action': \"stop\" is not allowed (use \"kill\" or \"report\")"},
      {"[[guard]]\nmachines = \"a*\"\nwithin = [\"127.0.0.300/28\"]\naction = \"kill\"\n",
       "/c.toml:3:11: key 'guard[0].within': "},
      {"[[guard]]\nmachines = \"a*\"\nwithin = []\naction = \"kill\"\n",
       "/c.toml:3:10: key 'guard[0].within' must be a non-empty array of CIDRs"},
      {"[[guard]]\nmachines = 5\nwithin = [\"127.0.0.16/28\"]\naction = \"kill\"\n",
       "/c.toml:2:12: key 'guard[0].machines' must be a string"},
      {"[[guard]]\nmachines = \"a*\"\nwithin = [\"127.0.0.16/28\"]\naction = \"kill\"\nextra = 1\n",
       "/c.toml:5:1: unknown key 'guard[0].extra' (known keys in [guard[0]]: machines, within, action)"},
      {"[[guard]]\nmachines = \"a*\"\naction = \"kill\"\n",
       "/c.toml:1:1: [[guard]] table 'guard[0]' has no key 'within'"},
      {"guard = \"x\"\n", "/c.toml:1:9: key 'guard' must be an array of tables"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = bs::parse_config("/c.toml", c.text);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::StartsWith(c.error));
  }
}
