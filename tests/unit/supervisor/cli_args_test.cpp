// The command line as tables: argv in, the parsed invocation or the exact usage error out.
#include <catch2/catch.hpp>

#include "supervisor/cli_args.h"

using bs::supervisor::Command;
using bs::supervisor::Invocation;
using bs::supervisor::parse_args;
using bs::supervisor::usage_text;
using namespace std::chrono_literals;

namespace {

Invocation ok(std::vector<std::string> args) {
  auto r = parse_args(args);
  INFO("args: " << Catch::Detail::stringify(args));
  if (!r) FAIL("unexpected usage error: " << r.error().message);
  return *r;
}

}  // namespace

TEST_CASE("cli: commands and their options", "[supervisor]") {
  using Action = Invocation::Action;
  {
    auto inv = ok({"run"});
    CHECK(inv.action == Action::Execute);
    CHECK(inv.command == Command::Run);
    CHECK_FALSE(inv.common.specs.has_value());
  }
  {
    auto inv = ok({"status", "--json", "web", "db"});
    CHECK(inv.command == Command::Status);
    CHECK(inv.json);
    CHECK(inv.operands == std::vector<std::string>{"web", "db"});
  }
  {
    auto inv = ok({"status", "web", "--json"});  // options and operands in any order
    CHECK(inv.json);
    CHECK(inv.operands == std::vector<std::string>{"web"});
  }
  {
    auto inv = ok({"reconcile"});
    CHECK(inv.command == Command::Reconcile);
    CHECK_FALSE(inv.once);
    CHECK(ok({"reconcile", "--once"}).once);
    CHECK(ok({"reconcile", "--json"}).json);
  }
  {
    auto inv = ok({"events", "--json", "--follow", "--bottle", "web", "--since", "10m"});
    CHECK(inv.command == Command::Events);
    CHECK(inv.json);
    CHECK(inv.follow);
    CHECK(inv.bottle == "web");
    CHECK(inv.since == std::chrono::milliseconds(10min));
    // A minus sign reads as "ago": the same look back, with or without '='.
    CHECK(ok({"events", "--since", "-5s"}).since == std::chrono::milliseconds(5s));
    CHECK(ok({"events", "--since=-5s"}).since == std::chrono::milliseconds(5s));
    CHECK(ok({"events", "--since", "2d"}).since == std::chrono::milliseconds(48h));
    CHECK(ok({"events", "--since", "2026-11-29T12:00:00Z"}).since_at_ms == 1'795'953'600'000);
    CHECK(ok({"events", "--until", "1h"}).until == std::chrono::milliseconds(1h));
    auto tail = ok({"events", "-n", "5", "-f", "--kind", "drift-killed,started", "--kind=stopped"});
    CHECK(tail.tail == std::size_t{5});
    CHECK(tail.follow);
    CHECK(tail.kinds == std::vector<std::string>{"drift-killed", "started", "stopped"});
    CHECK(ok({"status", "-o", "wide"}).output == bs::supervisor::Invocation::Output::Wide);
    CHECK(ok({"status", "--output=name"}).output == bs::supervisor::Invocation::Output::Name);
    CHECK(ok({"status", "-w", "a"}).watch);
    CHECK(ok({"status", "--watch"}).watch);
  }
  {
    auto inv = ok({"validate", "a.toml", "b.toml"});
    CHECK(inv.command == Command::Validate);
    CHECK(inv.operands == std::vector<std::string>{"a.toml", "b.toml"});
    CHECK(ok({"validate", "--", "--odd.toml"}).operands == std::vector<std::string>{"--odd.toml"});
    CHECK(ok({"validate", "--config", "c.toml", "x.toml"}).common.config == "c.toml");
  }
  CHECK(ok({"preflight"}).command == Command::Preflight);
}

TEST_CASE("cli: common path flags, with '=' or a separate value", "[supervisor]") {
  for (const char* command : {"run", "status", "reconcile", "events", "preflight"}) {
    INFO(command);
    auto inv = ok({command, "--specs", "/s", "--state-dir=/st", "--socket", "/so.sock", "--config=/c.toml",
                   "--smolvm", "./smolvm-sim", "--smolvm-data-dir=/root"});
    CHECK(inv.common.specs == "/s");
    CHECK(inv.common.state_dir == "/st");
    CHECK(inv.common.socket == "/so.sock");
    CHECK(inv.common.config == "/c.toml");
    CHECK(inv.common.smolvm == "./smolvm-sim");
    CHECK(inv.common.smolvm_data_dir == "/root");
  }
  CHECK(ok({"run", "--specs", "/a", "--specs", "/b"}).common.specs == "/b");  // the last one wins
  CHECK(ok({"run", "--specs=-dashed"}).common.specs == "-dashed");
  CHECK(ok({"run", "--specs=a=b"}).common.specs == "a=b");
}

TEST_CASE("cli: help and version", "[supervisor]") {
  using Action = Invocation::Action;
  CHECK(ok({"--help"}).action == Action::Help);
  CHECK_FALSE(ok({"-h"}).command.has_value());
  CHECK(ok({"--version"}).action == Action::Version);
  for (const char* command : {"run", "status", "reconcile", "events", "validate", "preflight"}) {
    INFO(command);
    auto inv = ok({command, "--help"});
    CHECK(inv.action == Action::Help);
    REQUIRE(inv.command.has_value());
    CHECK(ok({command, "-h"}).action == Action::Help);
    CHECK(ok({"help", command}).command == inv.command);
    CHECK(ok({"-h", command}).command == inv.command);  // the command's help, not the top-level one
    CHECK(ok({"--help", command}).command == inv.command);
    CHECK(ok({command, "--version"}).action == Action::Version);
  }
  // --help wins over an otherwise incomplete command line.
  CHECK(ok({"validate", "--help"}).action == Action::Help);
}

TEST_CASE("cli: usage errors say what is wrong and where to look", "[supervisor]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    std::string hint;
  };
  const std::vector<Case> cases = {
      {{}, "no command given", "see 'bottle-supervisor --help'"},
      {{"stauts"}, "unknown command 'stauts'", "did you mean 'status'? see 'bottle-supervisor --help'"},
      {{"frobnicate"}, "unknown command 'frobnicate'", "see 'bottle-supervisor --help'"},
      {{"--json"}, "unknown option '--json' (a command comes first)", "see 'bottle-supervisor --help'"},
      {{"status", "--jsn"}, "unknown option '--jsn' for 'status'",
       "did you mean '--json'? see 'bottle-supervisor status --help'"},
      {{"run", "--json"}, "unknown option '--json' for 'run'", "see 'bottle-supervisor run --help'"},
      {{"run", "--once"}, "unknown option '--once' for 'run'", "see 'bottle-supervisor run --help'"},
      {{"validate", "--specs", "/x", "a.toml"}, "unknown option '--specs' for 'validate'",
       "see 'bottle-supervisor validate --help'"},
      {{"status", "--specs"}, "option '--specs' needs a value (DIR)", "see 'bottle-supervisor status --help'"},
      {{"status", "--socket", "--json"}, "option '--socket' needs a value (PATH)",
       "see 'bottle-supervisor status --help'"},
      {{"events", "--since="}, "option '--since' needs a non-empty value (WHEN)", "see 'bottle-supervisor events --help'"},
      {{"events", "--since", "ten"}, "option '--since': \"ten\" is neither a duration (ms, s, m, h, d, e.g. \"30s\") nor an RFC 3339 time "
       "(e.g. \"2026-11-29T12:00:00Z\")",
       "see 'bottle-supervisor events --help'"},
      {{"events", "-n", "x"}, "option '--tail': \"x\" is not a count (e.g. 20)", "see 'bottle-supervisor events --help'"},
      {{"events", "--kind", "a,,b"}, "option '--kind': an empty kind in \"a,,b\"", "see 'bottle-supervisor events --help'"},
      {{"status", "-o", "yaml"}, "option '--output': \"yaml\" is not a format (table, wide or name)",
       "see 'bottle-supervisor status --help'"},
      {{"status", "-o", "name", "--json"}, "'--json' cannot be combined with '--output'",
       "see 'bottle-supervisor status --help'"},
      {{"status", "--json=yes"}, "option '--json' takes no value", "see 'bottle-supervisor status --help'"},
      {{"run", "extra"}, "'run' takes no arguments (got 'extra')", "see 'bottle-supervisor run --help'"},
      {{"validate", "--explain"}, "'--explain' takes exactly one FILE", "see 'bottle-supervisor validate --help'"},
      {{"validate", "--explain", "a.toml", "b.toml"}, "'--explain' takes exactly one FILE",
       "see 'bottle-supervisor validate --help'"},
      {{"help", "nope"}, "unknown command 'nope'", "see 'bottle-supervisor --help'"},
      {{"--version", "extra"}, "'--version' takes no arguments (got 'extra')", "see 'bottle-supervisor --help'"},
      {{"-h", "status", "x"}, "'-h' takes at most one command", "see 'bottle-supervisor --help'"},
      {{"events", "--since", "-ten"}, "option '--since' needs a value (WHEN)", "see 'bottle-supervisor events --help'"},
  };
  for (const auto& c : cases) {
    INFO("args: " << Catch::Detail::stringify(c.args));
    auto r = parse_args(c.args);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message == c.message);
    CHECK(r.error().hint == c.hint);
  }
}

TEST_CASE("cli: every command's help lists every option it accepts", "[supervisor]") {
  const std::vector<std::string> paths = {"--specs DIR", "--state-dir DIR", "--socket PATH", "--config FILE",
                                          "--smolvm PATH", "--smolvm-data-dir ROOT", "--help", "--version"};
  for (Command c : {Command::Run, Command::Status, Command::Reconcile, Command::Events, Command::Preflight}) {
    std::string help = usage_text(c);
    INFO(help);
    for (const auto& opt : paths) CHECK_THAT(help, Catch::Contains(opt));
  }
  CHECK_THAT(usage_text(Command::Status), Catch::Contains("--json"));
  CHECK_THAT(usage_text(Command::Reconcile), Catch::Contains("--once"));
  for (const char* opt : {"--json", "--follow", "--bottle NAME", "--since WHEN", "--until WHEN", "--tail N", "--kind KIND"}) {
    CHECK_THAT(usage_text(Command::Events), Catch::Contains(opt));
  }
  CHECK_THAT(usage_text(Command::Validate), Catch::Contains("--config FILE"));
  CHECK_THAT(usage_text(Command::Validate), Catch::Contains("<file>: ok"));
  for (const char* cmd : {"run", "status", "reconcile", "events", "validate", "preflight", "--version"}) {
    CHECK_THAT(usage_text(std::nullopt), Catch::Contains(cmd));
  }
  // Every accepted option has its own line with a description.
  for (Command c : {Command::Run, Command::Status, Command::Reconcile, Command::Events, Command::Validate,
                    Command::Preflight}) {
    std::string help = usage_text(c);
    for (const auto& opt : bs::supervisor::accepted_options(c)) {
      INFO(opt);
      auto at = help.find("\n  " + opt + " ");
      REQUIRE(at != std::string::npos);
      std::string line = help.substr(at + 1, help.find('\n', at + 1) - at - 1);
      CHECK(line.size() > opt.size() + 10);
    }
  }
  CHECK(bs::supervisor::accepted_options(Command::Validate) == std::vector<std::string>{"--explain", "--config FILE"});
  // Help fits the same 100 columns as the rest of the output.
  for (auto c : {std::optional<Command>{}, std::optional{Command::Run}, std::optional{Command::Status},
                 std::optional{Command::Reconcile}, std::optional{Command::Events},
                 std::optional{Command::Validate}, std::optional{Command::Preflight}}) {
    std::string help = usage_text(c);
    std::size_t start = 0;
    while (start < help.size()) {
      std::size_t nl = help.find('\n', start);
      CHECK(nl - start <= 100);
      start = nl + 1;
    }
  }
}
