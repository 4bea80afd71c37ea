// One bottle spec: every field's default, range edges and allowed values (CONTRACT.md §3).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "reconcile/spec.h"
#include "test_values.h"

using bs::test::ip;
using bs::test::kPool;

namespace {


bs::BottleSpec valid(const std::string& text, const std::string& path = "/specs/task-1.toml") {
  auto r = bs::parse_bottle_spec(path, text, kPool);
  INFO("spec:\n" << text);
  INFO("diagnostics:\n" << (r ? std::string() : bs::format_diags(r.error())));
  REQUIRE(r.has_value());
  return *r;
}

std::vector<bs::SpecDiag> invalid(const std::string& text, const std::string& path = "/specs/task-1.toml",
                                  const bs::Ipv4Pool& pool = kPool) {
  auto r = bs::parse_bottle_spec(path, text, pool);
  INFO("spec:\n" << text);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

// The single diagnostic of an invalid spec, as "line:col: message".
std::string only_diag(const std::string& text, const bs::Ipv4Pool& pool = kPool) {
  const auto d = invalid(text, "/specs/task-1.toml", pool);
  REQUIRE(d.size() == 1);
  CHECK(d[0].file == "/specs/task-1.toml");
  return std::to_string(d[0].line) + ":" + std::to_string(d[0].column) + ": " + d[0].message;
}


}  // namespace

TEST_CASE("a minimal spec takes every default", "[reconcile]") {
  const bs::BottleSpec s = valid("image = \"alpine:3.20\"\n");
  CHECK(s.name == "task-1");
  CHECK(s.path == "/specs/task-1.toml");
  CHECK(s.machine == "bottle-task-1");
  CHECK(s.image == std::optional<std::string>("alpine:3.20"));
  CHECK_FALSE(s.from.has_value());
  CHECK(s.cpus == 1);
  CHECK(s.memory_mib == 512);
  CHECK(s.state == bs::RunState::Running);
  CHECK_FALSE(s.loopback.has_value());
  CHECK(s.on_remove == bs::OnRemove::Delete);
  CHECK(s.egress_allow.empty());
}

TEST_CASE("every field can be set", "[reconcile]") {
  const bs::BottleSpec s = valid(R"(
from = "/opt/agents/agent.smolmachine"
machine = "my-vm-2"
cpus = 8
memory = 4096
state = "stopped"
loopback = "127.0.0.20"
on_remove = "keep"
[egress]
allow = ["10.1.2.3/8", "2001:DB8::1/32", "1.1.1.1", "10.0.0.0/8"]
)");
  CHECK_FALSE(s.image.has_value());
  CHECK(s.from == std::optional<std::string>("/opt/agents/agent.smolmachine"));
  CHECK(s.machine == "my-vm-2");
  CHECK(s.cpus == 8);
  CHECK(s.memory_mib == 4096);
  CHECK(s.state == bs::RunState::Stopped);
  CHECK(s.loopback == std::optional<bs::Ipv4>(ip("127.0.0.20")));
  CHECK(s.on_remove == bs::OnRemove::Keep);
  CHECK(bs::to_strings(s.egress_allow) == std::vector<std::string>{"1.1.1.1/32", "10.0.0.0/8", "2001:db8::/32"});
}

TEST_CASE("the name is the file stem, wherever the file is", "[reconcile]") {
  CHECK(valid("image = \"a\"", "agent-7.toml").name == "agent-7");
  CHECK(valid("image = \"a\"", "/a/b.c/agent-7.toml").name == "agent-7");
  CHECK(valid("image = \"a\"", "/a/b/agent-7.toml").machine == "bottle-agent-7");
  const std::string max_name(48, 'a');
  CHECK(valid("image = \"a\"", "/d/" + max_name + ".toml").machine == "bottle-" + max_name);
}

TEST_CASE("cpus: 1..64", "[reconcile]") {
  CHECK(valid("image = \"a\"\ncpus = 1").cpus == 1);
  CHECK(valid("image = \"a\"\ncpus = 64").cpus == 64);
  CHECK(only_diag("image = \"a\"\ncpus = 0") == "2:8: cpus = 0 is out of range (1..64)");
  CHECK(only_diag("image = \"a\"\ncpus = 65") == "2:8: cpus = 65 is out of range (1..64)");
  CHECK(only_diag("image = \"a\"\ncpus = -1") == "2:8: cpus = -1 is out of range (1..64)");
  CHECK(only_diag("image = \"a\"\ncpus = 9223372036854775807") ==
        "2:8: cpus = 9223372036854775807 is out of range (1..64)");
  CHECK(only_diag("image = \"a\"\ncpus = \"2\"") == "2:8: 'cpus' must be an integer (1..64), got a string \"2\"");
  CHECK(only_diag("image = \"a\"\ncpus = 2.0") == "2:8: 'cpus' must be an integer (1..64), got a float 2.0");
  CHECK(only_diag("image = \"a\"\ncpus = true") == "2:8: 'cpus' must be an integer (1..64), got a boolean true");
}

TEST_CASE("memory: 64..1048576 MiB", "[reconcile]") {
  CHECK(valid("image = \"a\"\nmemory = 64").memory_mib == 64);
  CHECK(valid("image = \"a\"\nmemory = 1048576").memory_mib == 1048576);
  CHECK(valid("image = \"a\"\nmemory = 1_024").memory_mib == 1024);
  CHECK(only_diag("image = \"a\"\nmemory = 63") == "2:10: memory = 63 is out of range (64..1048576 MiB)");
  CHECK(only_diag("image = \"a\"\nmemory = 1048577") ==
        "2:10: memory = 1048577 is out of range (64..1048576 MiB)");
  CHECK(only_diag("image = \"a\"\nmemory = 0") == "2:10: memory = 0 is out of range (64..1048576 MiB)");
  CHECK(only_diag("image = \"a\"\nmemory = \"512M\"") ==
        "2:10: 'memory' must be an integer (64..1048576 MiB), got a string \"512M\"");
}

TEST_CASE("state: running or stopped", "[reconcile]") {
  CHECK(valid("image = \"a\"\nstate = \"running\"").state == bs::RunState::Running);
  CHECK(valid("image = \"a\"\nstate = \"stopped\"").state == bs::RunState::Stopped);
  CHECK(only_diag("image = \"a\"\nstate = \"paused\"") ==
        "2:9: state = \"paused\" is not allowed (use \"running\" or \"stopped\")");
  CHECK(only_diag("image = \"a\"\nstate = \"Running\"") ==
        "2:9: state = \"Running\" is not allowed (use \"running\" or \"stopped\")");
  CHECK(only_diag("image = \"a\"\nstate = true") ==
        "2:9: 'state' must be a string (\"running\" or \"stopped\"), got a boolean true");
  CHECK(bs::to_string(bs::RunState::Running) == "running");
  CHECK(bs::to_string(bs::RunState::Stopped) == "stopped");
}

TEST_CASE("on_remove: delete or keep", "[reconcile]") {
  CHECK(valid("image = \"a\"\non_remove = \"delete\"").on_remove == bs::OnRemove::Delete);
  CHECK(valid("image = \"a\"\non_remove = \"keep\"").on_remove == bs::OnRemove::Keep);
  CHECK(only_diag("image = \"a\"\non_remove = \"remove\"") ==
        "2:13: on_remove = \"remove\" is not allowed (use \"delete\" or \"keep\")");
  CHECK(only_diag("image = \"a\"\non_remove = [\"keep\"]") ==
        "2:13: 'on_remove' must be a string (\"delete\" or \"keep\"), got an array");
  CHECK(bs::to_string(bs::OnRemove::Delete) == "delete");
  CHECK(bs::to_string(bs::OnRemove::Keep) == "keep");
}

TEST_CASE("loopback: auto or a fixed address inside the pool, never 127.0.0.1", "[reconcile]") {
  CHECK_FALSE(valid("image = \"a\"\nloopback = \"auto\"").loopback.has_value());
  CHECK(valid("image = \"a\"\nloopback = \"127.0.0.16\"").loopback == std::optional<bs::Ipv4>(ip("127.0.0.16")));
  CHECK(valid("image = \"a\"\nloopback = \"127.0.0.31\"").loopback == std::optional<bs::Ipv4>(ip("127.0.0.31")));
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.15\"") == "2:12: loopback 127.0.0.15 is outside the pool 127.0.0.16/28");
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.32\"") == "2:12: loopback 127.0.0.32 is outside the pool 127.0.0.16/28");
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.1.5\"") == "2:12: loopback 127.0.1.5 is outside the pool 127.0.0.16/28");
  CHECK(only_diag("image = \"a\"\nloopback = \"10.0.0.1\"") == "2:12: loopback 10.0.0.1 is outside the pool 127.0.0.16/28");
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.1\"") == "2:12: loopback may not be 127.0.0.1");
  // Even a pool that contains them does not make the host's own addresses leasable.
  const bs::Ipv4Pool wide{bs::Ipv4{0x7f000000}, 24};
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.1\"", wide) == "2:12: loopback may not be 127.0.0.1");
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.0\"", wide) == "2:12: loopback may not be 127.0.0.0");
  const bs::Ipv4Pool top{bs::Ipv4{0x7fffff00}, 24};
  CHECK(only_diag("image = \"a\"\nloopback = \"127.255.255.255\"", top) ==
        "2:12: loopback may not be 127.255.255.255");
  CHECK(only_diag("image = \"a\"\nloopback = \"Auto\"") ==
        "2:12: loopback must be \"auto\" or an IPv4 address in the pool 127.0.0.16/28: \"Auto\" is not a valid "
        "IPv4 address: expected four decimal octets a.b.c.d");
  CHECK(only_diag("image = \"a\"\nloopback = \"127.0.0.016\"") ==
        "2:12: loopback must be \"auto\" or an IPv4 address in the pool 127.0.0.16/28: \"127.0.0.016\" is not a "
        "valid IPv4 address: octet \"016\" has a leading zero (octal or decimal is ambiguous)");
  CHECK(only_diag("image = \"a\"\nloopback = 16") ==
        "2:12: 'loopback' must be a string (\"auto\" or an IPv4 address in the pool 127.0.0.16/28), got an "
        "integer 16");
}

TEST_CASE("image and from: exactly one, from absolute", "[reconcile]") {
  CHECK(valid("image = \"ghcr.io/org/agent@sha256:0123abcd\"").image ==
        std::optional<std::string>("ghcr.io/org/agent@sha256:0123abcd"));
  CHECK(valid("from = \"/abs/agent.smolmachine\"").from == std::optional<std::string>("/abs/agent.smolmachine"));
  CHECK(only_diag("image = \"a\"\nfrom = \"/x.smolmachine\"") == "2:1: both 'image' and 'from' are set; set exactly one");
  CHECK(only_diag("from = \"/x.smolmachine\"\nimage = \"a\"") == "2:1: both 'image' and 'from' are set; set exactly one");
  CHECK(only_diag("cpus = 2") == "1:1: neither 'image' nor 'from' is set; set exactly one (e.g. image = \"alpine:3.20\")");
  CHECK(only_diag("") == "1:1: neither 'image' nor 'from' is set; set exactly one (e.g. image = \"alpine:3.20\")");
  CHECK(only_diag("from = \"agent.smolmachine\"") == "1:8: 'from' must be an absolute path, got \"agent.smolmachine\"");
  CHECK(only_diag("from = \"~/agent.smolmachine\"") == "1:8: 'from' must be an absolute path, got \"~/agent.smolmachine\"");
  CHECK(only_diag("from = \"\"") == "1:8: 'from' must be an absolute path, got \"\"");
  CHECK(only_diag("from = \"/a\\nb\"") == "1:8: 'from' must not contain control characters, got \"/a\\nb\"");
  CHECK(only_diag("image = \"\"") ==
        "1:9: image = \"\" is not an image reference: use letters, digits and . _ - / : @, starting with a letter "
        "or digit (e.g. \"alpine:3.20\")");
  CHECK(only_diag("image = \"--privileged\"") ==
        "1:9: image = \"--privileged\" is not an image reference: use letters, digits and . _ - / : @, starting "
        "with a letter or digit (e.g. \"alpine:3.20\")");
  CHECK(only_diag("image = \"alpine 3\"") ==
        "1:9: image = \"alpine 3\" is not an image reference: use letters, digits and . _ - / : @, starting with "
        "a letter or digit (e.g. \"alpine:3.20\")");
  CHECK(only_diag("image = 3.20") == "1:9: 'image' must be a string (an image reference like \"alpine:3.20\"), got a float 3.2");
  CHECK(only_diag("from = true") ==
        "1:8: 'from' must be a string (an absolute path to a .smolmachine file), got a boolean true");
}

TEST_CASE("machine: default bottle-<name>, same rule as names, at most 63", "[reconcile]") {
  CHECK(valid("image = \"a\"\nmachine = \"x\"").machine == "x");
  const std::string m63(63, 'm');
  CHECK(valid("image = \"a\"\nmachine = \"" + m63 + "\"").machine == m63);
  CHECK(only_diag("image = \"a\"\nmachine = \"" + m63 + "m\"") ==
        "2:11: machine '" + m63 + "m' must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be at most 63 characters");
  CHECK(only_diag("image = \"a\"\nmachine = \"Bad_Name\"") ==
        "2:11: machine 'Bad_Name' must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be at most 63 characters");
  CHECK(only_diag("image = \"a\"\nmachine = \"a--b\"") ==
        "2:11: machine 'a--b' must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be at most 63 characters");
  CHECK(only_diag("image = \"a\"\nmachine = \"\"") ==
        "2:11: machine '' must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be at most 63 characters");
  CHECK(only_diag("image = \"a\"\nmachine = 7") == "2:11: 'machine' must be a string (a smolvm machine name), got an integer 7");
}

TEST_CASE("egress.allow forms", "[reconcile]") {
  CHECK(valid("image = \"a\"\n[egress]\nallow = []").egress_allow.empty());
  CHECK(valid("image = \"a\"\n[egress]\n").egress_allow.empty());
  CHECK(bs::to_strings(valid("image = \"a\"\negress.allow = [\"10.0.0.1/8\"]").egress_allow) ==
        std::vector<std::string>{"10.0.0.0/8"});
  CHECK(bs::to_strings(valid("image = \"a\"\negress = { allow = [\"::1\", \"8.8.8.8\", \"8.8.8.8/32\"] }").egress_allow) ==
        std::vector<std::string>{"8.8.8.8/32", "::1/128"});
  CHECK(bs::to_strings(valid("image = \"a\"\n[egress]\nallow = [\n  \"0.0.0.0/0\", # everything\n]").egress_allow) ==
        std::vector<std::string>{"0.0.0.0/0"});
  CHECK(only_diag("image = \"a\"\n[egress]\nallow = \"10.0.0.0/8\"") ==
        "3:9: 'egress.allow' must be an array of CIDR strings (e.g. [\"10.0.0.0/8\"]), got a string \"10.0.0.0/8\"");
  CHECK(only_diag("image = \"a\"\n[egress]\nallow = [\"1.1.1.1\", \"10.0.0.300/8\"]") ==
        "3:21: egress.allow[1] = \"10.0.0.300/8\" is not a valid CIDR: octet \"300\" is out of range (0..255); "
        "use a.b.c.d/n (n 0..32), a bare IPv4 address, or an IPv6 network like 2001:db8::/32 (n 0..128)");
  CHECK(only_diag("image = \"a\"\n[egress]\nallow = [[\"10.0.0.0/8\"]]") ==
        "3:10: egress.allow[0] must be a string (a CIDR like \"10.0.0.0/8\"), got an array");
  CHECK(only_diag("image = \"a\"\negress = [\"10.0.0.0/8\"]") ==
        "2:10: 'egress' must be a table ([egress] with allow = [...]), got an array");
  CHECK(only_diag("image = \"a\"\n[egress]\ndeny = []") == "3:1: unknown key 'egress.deny' (known keys in [egress]: allow)");
}

TEST_CASE("unknown keys are named with the known ones", "[reconcile]") {
  CHECK(only_diag("image = \"a\"\ncpu = 2") ==
        "2:1: unknown key 'cpu' (known keys: image, from, machine, cpus, memory, state, loopback, on_remove, egress)");
  CHECK(only_diag("image = \"a\"\n[resources]\ncpus = 2") ==
        "2:2: unknown key 'resources' (known keys: image, from, machine, cpus, memory, state, loopback, on_remove, "
        "egress)");
}

TEST_CASE("all problems are reported, in file order, each with its position", "[reconcile]") {
  const auto d = invalid(R"(cpu = 1
cpus = 0
memory = 63
state = "paused"
loopback = "127.0.0.1"
[egress]
allow = ["nope", 7]
)",
                         "/specs/Bad.toml");
  REQUIRE(d.size() == 9);
  CHECK(bs::format_diags(d) ==
        "/specs/Bad.toml:1:1: bottle name 'Bad' (from the file name) must match ^[a-z0-9]+(-[a-z0-9]+)*$ and be at "
        "most 48 characters\n"
        "/specs/Bad.toml:1:1: unknown key 'cpu' (known keys: image, from, machine, cpus, memory, state, loopback, "
        "on_remove, egress)\n"
        "/specs/Bad.toml:1:1: neither 'image' nor 'from' is set; set exactly one (e.g. image = \"alpine:3.20\")\n"
        "/specs/Bad.toml:2:8: cpus = 0 is out of range (1..64)\n"
        "/specs/Bad.toml:3:10: memory = 63 is out of range (64..1048576 MiB)\n"
        "/specs/Bad.toml:4:9: state = \"paused\" is not allowed (use \"running\" or \"stopped\")\n"
        "/specs/Bad.toml:5:12: loopback may not be 127.0.0.1\n"
        "/specs/Bad.toml:7:10: egress.allow[0] = \"nope\" is not a valid CIDR: host names are not allowed, only "
        "IP networks; use a.b.c.d/n (n 0..32), a bare IPv4 address, or an IPv6 network like 2001:db8::/32 (n "
        "0..128)\n"
        "/specs/Bad.toml:7:18: egress.allow[1] must be a string (a CIDR like \"10.0.0.0/8\"), got an integer 7");
}

TEST_CASE("TOML syntax errors carry their position", "[reconcile]") {
  CHECK(only_diag("image = \"a\ncpus = 1") ==
        "1:11: Error while parsing string: unescaped control characters other than TAB (U+0009) are explicitly "
        "prohibited");
  CHECK(only_diag("image = \"a\"\ncpus = 1\ncpus = 2") ==
        "3:8: Error while parsing key-value pair: cannot redefine existing integer 'cpus'");
  // A syntax error stops the parse, but the file name is still checked.
  const auto d = invalid("image = ", "/specs/UPPER.toml");
  REQUIRE(d.size() == 2);
  CHECK(d[0].message.rfind("bottle name 'UPPER'", 0) == 0);
  CHECK(d[1].line == 1);
  CHECK(d[1].message.rfind("Error while parsing", 0) == 0);
}

TEST_CASE("SpecDiag prints as file:line:col: message", "[reconcile]") {
  CHECK(bs::SpecDiag{"/d/x.toml", 3, 7, "bad"}.str() == "/d/x.toml:3:7: bad");
  CHECK(bs::format_diags({}).empty());
  CHECK(bs::format_diags({{"a.toml", 1, 1, "one"}, {"a.toml", 2, 5, "two"}}) == "a.toml:1:1: one\na.toml:2:5: two");
}

TEST_CASE("messages cannot be forged by values with newlines", "[reconcile]") {
  const std::string m = only_diag("image = \"a\"\nstate = \"x\\nfake.toml:1:1: ok\"");
  CHECK(m.find('\n') == std::string::npos);
  CHECK(m == "2:9: state = \"x\\nfake.toml:1:1: ok\" is not allowed (use \"running\" or \"stopped\")");
}
