// The guard commands' command lines (`leases`, `adopt`, `release`, `status --all`) and the human
// view of the status document's `guarded` section.
#include <catch2/catch.hpp>

#include "supervisor/cli_args.h"
#include "supervisor/machine_table.h"

using bs::supervisor::Command;

namespace {

bs::supervisor::Invocation guard_cli_ok(const std::vector<std::string>& args) {
  auto r = bs::supervisor::parse_args(args);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
  return *r;
}

std::string guard_cli_error(const std::vector<std::string>& args) {
  auto r = bs::supervisor::parse_args(args);
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

}  // namespace

TEST_CASE("guard cli: leases, adopt, release and status --all", "[supervisor][guard]") {
  CHECK(guard_cli_ok({"leases", "--json"}).command == Command::Leases);
  CHECK(guard_cli_ok({"status", "--all"}).all);
  auto adopt = guard_cli_ok({"adopt", "agent", "--machine", "bot-bottle-a"});
  CHECK(adopt.command == Command::Adopt);
  CHECK(adopt.operands == std::vector<std::string>{"agent"});
  CHECK(adopt.machine == "bot-bottle-a");
  CHECK(guard_cli_ok({"release", "agent", "--json"}).command == Command::Release);

  CHECK(guard_cli_error({"adopt", "agent"}) == "'adopt' needs --machine M (the smolvm machine the bottle's spec names)");
  CHECK(guard_cli_error({"adopt", "--machine", "m"}) == "'adopt' needs at least one NAME");
  CHECK(guard_cli_error({"release"}) == "'release' needs at least one NAME");
  CHECK(guard_cli_error({"release", "a", "b"}) == "'release' takes one NAME (got 2)");
  CHECK(guard_cli_error({"leases", "x"}) == "'leases' takes no arguments (got 'x')");
  CHECK(guard_cli_error({"events", "--all"}).rfind("unknown option '--all'", 0) == 0);
  CHECK(bs::supervisor::usage_text(Command::Adopt).find("--machine M") != std::string::npos);
  CHECK(bs::supervisor::usage_text(std::nullopt).find("leases") != std::string::npos);
}

TEST_CASE("guard table: warnings and every kind of machine", "[supervisor][guard]") {
  const nlohmann::json doc = nlohmann::json::parse(R"J({
    "supervisor": {},
    "bottles": [{"name": "web", "machine": "bottle-web", "actual": "running", "pid": 10,
                 "allowlist": ["127.0.0.16/32"], "confinement": "verified"}],
    "guarded": [
      {"name": "bot-bottle-ok", "kind": "guarded", "action": "kill", "state": "running", "pid": 11,
       "booted": ["127.0.0.20/32"], "allowlist": ["127.0.0.20/32"], "verdict": "ok", "detail": null,
       "lease_conflicts": []},
      {"name": "bot-bottle-r", "kind": "guarded", "action": "report", "state": "running", "pid": 12,
       "booted": null, "allowlist": ["127.0.0.21/32"], "verdict": "violation",
       "detail": "pid 12: booted unconfined (allowed_cidrs null)", "lease_conflicts": []},
      {"name": "scratch", "kind": "unmanaged", "state": "running", "pid": 13, "booted": null,
       "allowlist": null, "verdict": "unconfined", "detail": "pid 13: booted unconfined (allowed_cidrs null)",
       "lease_conflicts": [{"bottle": "web", "address": "127.0.0.16"}]}
    ]})J");
  const std::string warnings = bs::supervisor::render_guard_warnings(doc, 200);
  CHECK(warnings ==
        "warning: guarded machine bot-bottle-r breaks its rule (report): pid 12: booted unconfined (allowed_cidrs null)\n"
        "warning: machine scratch (no spec, no [[guard]] rule) runs unconfined: pid 13: booted unconfined "
        "(allowed_cidrs null)\n"
        "warning: lease conflict: machine scratch allows 127.0.0.16, leased to bottle web\n");
  bs::supervisor::TableStyle style;
  style.width = 120;
  const std::string table = bs::supervisor::render_machine_table(doc, style);
  CHECK_THAT(table, Catch::Contains("MACHINE        KIND       STATE    PID  BOOTED"));
  CHECK_THAT(table, Catch::Contains("bottle-web     managed    running  10"));
  CHECK_THAT(table, Catch::Contains("guarded-ok"));
  CHECK_THAT(table, Catch::Contains("null (unconfined)"));
  CHECK_THAT(table, Catch::Contains("scratch        unmanaged"));
  CHECK(bs::supervisor::render_guard_warnings(nlohmann::json::object(), 100).empty());
}
