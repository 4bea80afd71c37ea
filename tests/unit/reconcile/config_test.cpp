// The config file and durations (CONTRACT.md §4).
#include <catch2/catch.hpp>

#include <string>

#include "reconcile/config.h"
#include "reconcile/duration.h"

using namespace std::chrono_literals;

namespace {

bs::Config config(const std::string& text) {
  auto c = bs::parse_config("/etc/bs/config.toml", text);
  INFO("config:\n" << text << "\nerror: " << (c ? std::string() : c.error()));
  REQUIRE(c.has_value());
  return *c;
}

std::string config_error(const std::string& text) {
  auto c = bs::parse_config("/etc/bs/config.toml", text);
  INFO("config:\n" << text);
  REQUIRE_FALSE(c.has_value());
  const std::string prefix = "/etc/bs/config.toml:";
  REQUIRE(c.error().rfind(prefix, 0) == 0);
  return c.error().substr(prefix.size());
}

}  // namespace

TEST_CASE("durations: ms, s, m, h", "[reconcile]") {
  CHECK(*bs::parse_duration("50ms") == 50ms);
  CHECK(*bs::parse_duration("2s") == 2s);
  CHECK(*bs::parse_duration("5m") == 5min);
  CHECK(*bs::parse_duration("1h") == 1h);
  CHECK(*bs::parse_duration("0s") == 0ms);
  CHECK(*bs::parse_duration("0ms") == 0ms);
  CHECK(*bs::parse_duration("90s") == 90s);
  CHECK(*bs::parse_duration("1000000h") == 1000000h);
}

TEST_CASE("bad durations name the value and the units", "[reconcile]") {
  struct Case {
    const char* input;
    const char* message;
  };
  const Case cases[] = {
      {"12x", "\"12x\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"12", "\"12\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"s", "\"s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"", "\"\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"-1s", "\"-1s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"+1s", "\"+1s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {" 1s", "\" 1s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1 s", "\"1 s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1s ", "\"1s \" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1S", "\"1S\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1m30s", "\"1m30s\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1d", "\"1d\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1us", "\"1us\" is not a duration (use ms, s, m, h, e.g. \"30s\")"},
      {"1.5s", "\"1.5s\" is not a duration (use a whole number of ms, s, m or h, e.g. \"1500ms\" rather than \"1.5s\")"},
      {"1000001h", "\"1000001h\" is too long (at most 1000000h)"},
      {"99999999999999999999999ms", "\"99999999999999999999999ms\" is too long (at most 1000000h)"},
  };
  for (const Case& c : cases) {
    auto d = bs::parse_duration(c.input);
    INFO("input: '" << c.input << "'");
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error() == c.message);
  }
  CHECK(bs::parse_duration("x", "120s").error() == "\"x\" is not a duration (use ms, s, m, h, e.g. \"120s\")");
}

TEST_CASE("format_duration picks the largest exact unit", "[reconcile]") {
  CHECK(bs::format_duration(0ms) == "0s");
  CHECK(bs::format_duration(50ms) == "50ms");
  CHECK(bs::format_duration(1500ms) == "1500ms");
  CHECK(bs::format_duration(2s) == "2s");
  CHECK(bs::format_duration(90s) == "90s");
  CHECK(bs::format_duration(120s) == "2m");
  CHECK(bs::format_duration(5min) == "5m");
  CHECK(bs::format_duration(1h) == "1h");
  for (std::chrono::milliseconds d : {0ms, 1ms, 999ms, 1000ms * 61, 1000ms * 420, 1000ms * 90000}) CHECK(*bs::parse_duration(bs::format_duration(d)) == d);
}

TEST_CASE("an empty config is all defaults", "[reconcile]") {
  const bs::Config d = config("");
  CHECK(d == bs::Config{});
  CHECK(config("# nothing but a comment\n\n") == bs::Config{});
  CHECK_FALSE(d.specs.has_value());
  CHECK_FALSE(d.state_dir.has_value());
  CHECK_FALSE(d.socket.has_value());
  CHECK(d.log_level == "info");
  CHECK(d.resync_interval == 30s);
  CHECK(d.debounce == 50ms);
  CHECK(d.removal_grace == 2s);
  CHECK(d.smolvm_bin == "smolvm");
  CHECK_FALSE(d.smolvm_data_dir.has_value());
  CHECK(d.command_timeout == 120s);
  CHECK(d.pool.str() == "127.0.0.16/28");
  CHECK_FALSE(d.lock.has_value());
  CHECK(d.backoff_initial == 1s);
  CHECK(d.backoff_max == 5min);
}

TEST_CASE("every key of the contract's example is read", "[reconcile]") {
  const bs::Config c = config(R"(
specs = "~/.config/bottle-supervisor/bottles"
state_dir = "/var/lib/bs"
socket = "~/bs.sock"
log_level = "debug"
resync_interval = "10s"
debounce = "200ms"
removal_grace = "5s"
[smolvm]
bin = "/usr/local/bin/smolvm"
data_dir = "/srv/smolvm"
command_timeout = "3m"
[loopback]
pool = "127.0.1.0/24"
lock = "~/.cache/bot-bottle/smolmachines.lock"
[backoff]
initial = "500ms"
max = "1h"
)");
  CHECK(c.specs == std::optional<std::string>("~/.config/bottle-supervisor/bottles"));
  CHECK(c.state_dir == std::optional<std::string>("/var/lib/bs"));
  CHECK(c.socket == std::optional<std::string>("~/bs.sock"));
  CHECK(c.log_level == "debug");
  CHECK(c.resync_interval == 10s);
  CHECK(c.debounce == 200ms);
  CHECK(c.removal_grace == 5s);
  CHECK(c.smolvm_bin == "/usr/local/bin/smolvm");
  CHECK(c.smolvm_data_dir == std::optional<std::string>("/srv/smolvm"));
  CHECK(c.command_timeout == 3min);
  CHECK(c.pool.str() == "127.0.1.0/24");
  CHECK(c.lock == std::optional<std::string>("~/.cache/bot-bottle/smolmachines.lock"));
  CHECK(c.backoff_initial == 500ms);
  CHECK(c.backoff_max == 1h);
}

TEST_CASE("config values: log levels, paths, smolvm.bin, pool", "[reconcile]") {
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    CHECK(config(std::string("log_level = \"") + level + "\"").log_level == level);
  }
  CHECK(config("specs = \"~\"").specs == std::optional<std::string>("~"));
  CHECK(config("[smolvm]\nbin = \"smolvm-1.8\"").smolvm_bin == "smolvm-1.8");
  CHECK(config("[smolvm]\nbin = \"~/bin/smolvm\"").smolvm_bin == "~/bin/smolvm");
  CHECK(config("[loopback]\npool = \"127.0.0.20/28\"").pool.str() == "127.0.0.16/28");
  CHECK(config("smolvm.command_timeout = \"1s\"").command_timeout == 1s);
  CHECK(config("smolvm = { bin = \"/x/smolvm\" }").smolvm_bin == "/x/smolvm");
}

TEST_CASE("duration range edges per key", "[reconcile]") {
  CHECK(config("resync_interval = \"1s\"").resync_interval == 1s);
  CHECK(config("resync_interval = \"24h\"").resync_interval == 24h);
  CHECK(config("debounce = \"0ms\"").debounce == 0ms);
  CHECK(config("debounce = \"10s\"").debounce == 10s);
  CHECK(config("removal_grace = \"0s\"").removal_grace == 0s);
  CHECK(config("removal_grace = \"1h\"").removal_grace == 1h);
  CHECK(config("[backoff]\ninitial = \"100ms\"").backoff_initial == 100ms);
  CHECK(config("[backoff]\ninitial = \"5m\"").backoff_initial == 5min);  // equal to the default max
  CHECK(config("[backoff]\ninitial = \"2s\"\nmax = \"2s\"").backoff_max == 2s);
  CHECK(config_error("resync_interval = \"999ms\"") == "1:19: key 'resync_interval': \"999ms\" is out of range (1s..24h)");
  CHECK(config_error("resync_interval = \"25h\"") == "1:19: key 'resync_interval': \"25h\" is out of range (1s..24h)");
  CHECK(config_error("debounce = \"10001ms\"") == "1:12: key 'debounce': \"10001ms\" is out of range (0s..10s)");
  CHECK(config_error("removal_grace = \"61m\"") == "1:17: key 'removal_grace': \"61m\" is out of range (0s..1h)");
  CHECK(config_error("[smolvm]\ncommand_timeout = \"0s\"") ==
        "2:19: key 'smolvm.command_timeout': \"0s\" is out of range (1s..24h)");
  CHECK(config_error("[backoff]\ninitial = \"99ms\"") == "2:11: key 'backoff.initial': \"99ms\" is out of range (100ms..1h)");
  CHECK(config_error("[backoff]\nmax = \"999ms\"") == "2:7: key 'backoff.max': \"999ms\" is out of range (1s..24h)");
}

TEST_CASE("backoff.initial may not exceed backoff.max", "[reconcile]") {
  CHECK(config_error("[backoff]\ninitial = \"10s\"\nmax = \"5s\"") ==
        "3:7: key 'backoff.max': \"5s\" is less than backoff.initial (\"10s\")");
  CHECK(config_error("[backoff]\ninitial = \"10m\"") ==
        "2:11: key 'backoff.initial': \"10m\" is more than backoff.max (\"5m\", the default)");
  CHECK(config_error("[backoff]\nmax = \"500ms\"") == "2:7: key 'backoff.max': \"500ms\" is out of range (1s..24h)");
}

TEST_CASE("bad values name the key", "[reconcile]") {
  CHECK(config_error("[smolvm]\ncommand_timeout = \"12x\"") ==
        "2:19: key 'smolvm.command_timeout': \"12x\" is not a duration (use ms, s, m, h, e.g. \"120s\")");
  CHECK(config_error("debounce = \"fast\"") == "1:12: key 'debounce': \"fast\" is not a duration (use ms, s, m, h, e.g. \"50ms\")");
  CHECK(config_error("resync_interval = \"1.5s\"") ==
        "1:19: key 'resync_interval': \"1.5s\" is not a duration (use a whole number of ms, s, m or h, e.g. "
        "\"1500ms\" rather than \"1.5s\")");
  CHECK(config_error("log_level = \"verbose\"") ==
        "1:13: key 'log_level': \"verbose\" is not allowed (use trace, debug, info, warn or error)");
  CHECK(config_error("log_level = \"INFO\"") ==
        "1:13: key 'log_level': \"INFO\" is not allowed (use trace, debug, info, warn or error)");
  CHECK(config_error("specs = \"bottles\"") == "1:9: key 'specs': \"bottles\" must be an absolute path or start with \"~/\"");
  CHECK(config_error("state_dir = \"\"") == "1:13: key 'state_dir': \"\" must be an absolute path or start with \"~/\"");
  CHECK(config_error("socket = \"~bob/x\"") == "1:10: key 'socket': \"~bob/x\" must be an absolute path or start with \"~/\"");
  CHECK(config_error("[smolvm]\ndata_dir = \"./data\"") ==
        "2:12: key 'smolvm.data_dir': \"./data\" must be an absolute path or start with \"~/\"");
  CHECK(config_error("[loopback]\nlock = \"x.lock\"") ==
        "2:8: key 'loopback.lock': \"x.lock\" must be an absolute path or start with \"~/\"");
  CHECK(config_error("[smolvm]\nbin = \"./smolvm\"") ==
        "2:7: key 'smolvm.bin': \"./smolvm\" must be a command name found on PATH (like \"smolvm\") or an absolute path");
  CHECK(config_error("[smolvm]\nbin = \"\"") ==
        "2:7: key 'smolvm.bin': \"\" must be a command name found on PATH (like \"smolvm\") or an absolute path");
  CHECK(config_error("[smolvm]\nbin = \"--help\"") ==
        "2:7: key 'smolvm.bin': \"--help\" must be a command name found on PATH (like \"smolvm\") or an absolute path");
  CHECK(config_error("[loopback]\npool = \"10.0.0.0/8\"") ==
        "2:8: key 'loopback.pool': loopback pool \"10.0.0.0/8\" must lie inside 127.0.0.0/8 (e.g. \"127.0.0.16/28\")");
  CHECK(config_error("[loopback]\npool = \"127.0.0.16\"") ==
        "2:8: key 'loopback.pool': loopback pool \"127.0.0.16\" needs a prefix length: write it as a.b.c.d/n (e.g. "
        "\"127.0.0.16/28\")");
}

TEST_CASE("wrong types name the key and what was found", "[reconcile]") {
  CHECK(config_error("debounce = 50") == "1:12: key 'debounce' must be a string (a duration like \"50ms\"), got an integer 50");
  CHECK(config_error("specs = 1") ==
        "1:9: key 'specs' must be a string (an absolute path or one starting with \"~/\"), got an integer 1");
  CHECK(config_error("log_level = true") ==
        "1:13: key 'log_level' must be a string (trace, debug, info, warn or error), got a boolean true");
  CHECK(config_error("smolvm = \"smolvm\"") ==
        "1:10: key 'smolvm' must be a table ([smolvm] with bin, data_dir, command_timeout), got a string \"smolvm\"");
  CHECK(config_error("[loopback]\npool = 28") ==
        "2:8: key 'loopback.pool' must be a string (a network inside 127.0.0.0/8 like \"127.0.0.16/28\"), got an "
        "integer 28");
  CHECK(config_error("backoff = [1]") == "1:11: key 'backoff' must be a table ([backoff] with initial, max), got an array");
}

TEST_CASE("unknown keys are rejected naming the key", "[reconcile]") {
  CHECK(config_error("spec = \"/x\"") ==
        "1:1: unknown key 'spec' (known keys: specs, state_dir, socket, log_level, resync_interval, debounce, "
        "removal_grace, on_drift_kill, smolvm, loopback, backoff, guard)");
  CHECK(config_error("[smolvm]\ntimeout = \"1s\"") ==
        "2:1: unknown key 'smolvm.timeout' (known keys in [smolvm]: bin, data_dir, command_timeout)");
  CHECK(config_error("[loopback]\nrange = \"x\"") == "2:1: unknown key 'loopback.range' (known keys in [loopback]: pool, lock)");
  CHECK(config_error("[backoff]\nmin = \"1s\"") == "2:1: unknown key 'backoff.min' (known keys in [backoff]: initial, max)");
  CHECK(config_error("[egress]\nallow = []") ==
        "1:2: unknown key 'egress' (known keys: specs, state_dir, socket, log_level, resync_interval, debounce, "
        "removal_grace, on_drift_kill, smolvm, loopback, backoff, guard)");
}

TEST_CASE("the first problem is reported, with a count of the others", "[reconcile]") {
  CHECK(config_error("debounce = \"x\"\nfoo = 1\n[smolvm]\nbin = \"\"") ==
        "1:12: key 'debounce': \"x\" is not a duration (use ms, s, m, h, e.g. \"50ms\") (and 2 more problems)");
  CHECK(config_error("zzz = 1\naaa = 2") ==
        "1:1: unknown key 'zzz' (known keys: specs, state_dir, socket, log_level, resync_interval, debounce, "
        "removal_grace, on_drift_kill, smolvm, loopback, backoff, guard) (and 1 more problem)");
}

TEST_CASE("TOML syntax errors in the config carry their position", "[reconcile]") {
  CHECK(config_error("debounce = ") == "1:12: Error while parsing key-value pair: encountered end-of-file");
  CHECK(config_error("debounce = \"1s\"\ndebounce = \"2s\"") ==
        "2:12: Error while parsing key-value pair: cannot redefine existing string 'debounce'");
}

TEST_CASE("on_drift_kill is an argv list: read as written, no shell", "[reconcile]") {
  CHECK(bs::Config{}.on_drift_kill.empty());
  CHECK(config("on_drift_kill = [\"notify-send\", \"bottle-supervisor\", \"drift kill; rm -rf ~\"]\n").on_drift_kill ==
        std::vector<std::string>{"notify-send", "bottle-supervisor", "drift kill; rm -rf ~"});
  CHECK(config("on_drift_kill = [\"/usr/local/bin/page-me\"]\n").on_drift_kill ==
        std::vector<std::string>{"/usr/local/bin/page-me"});
  CHECK(config("on_drift_kill = []\n").on_drift_kill.empty());  // no hook
}

TEST_CASE("a bad on_drift_kill names the file, line, column and element", "[reconcile]") {
  CHECK(config_error("on_drift_kill = \"notify-send drift\"\n") ==
        "1:17: key 'on_drift_kill' must be an array of strings (a command and its arguments, like "
        "[\"notify-send\", \"drift kill\"]), got a string \"notify-send drift\"");
  CHECK(config_error("log_level = \"info\"\non_drift_kill = [\"notify-send\", 3]\n") ==
        "2:33: key 'on_drift_kill[1]' must be a string, got an integer 3");
  CHECK(config_error("on_drift_kill = [\"\"]\n") ==
        "1:18: key 'on_drift_kill[0]': \"\" must not be empty or hold control characters");
  CHECK(config_error("on_drift_kill = [\"bin/hook\"]\n") ==
        "1:18: key 'on_drift_kill[0]': \"bin/hook\" must be a command name found on PATH or an absolute path");
  CHECK(config_error("on_drift_kill = [\"x\", \"a\\nb\"]\n") ==
        "1:23: key 'on_drift_kill[1]': \"a\\nb\" must not be empty or hold control characters");
}
