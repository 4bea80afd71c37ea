#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "fixture_db.h"
#include "smolvm/boot_config.h"

using bs::smolvm::AllowedCidrs;
using bs::smolvm::boot_config_from_cmdline;
using bs::smolvm::cmdline_contains;
using bs::smolvm::parse_booted_policy;

namespace {

std::string nul_joined(std::initializer_list<std::string_view> args, bool trailing = true) {
  std::string s;
  for (auto a : args) {
    s.append(a);
    s.push_back('\0');
  }
  if (!trailing && !s.empty()) s.pop_back();
  return s;
}

const std::string kBootConfig = "/home/u/.cache/smolvm/vms/320983ce679b69a1/boot-config.json";

}  // namespace

TEST_CASE("boot_config_from_cmdline finds the argument after _boot-vm", "[smolvm]") {
  CHECK(boot_config_from_cmdline(nul_joined({"/proc/self/exe", "_boot-vm", kBootConfig})) == kBootConfig);
  CHECK(boot_config_from_cmdline(nul_joined({"/proc/self/exe", "_boot-vm", kBootConfig}, false)) == kBootConfig);
  CHECK(boot_config_from_cmdline(nul_joined({"/usr/lib/smolvm/smolvm-bin", "_boot-vm", kBootConfig, "extra"})) ==
        kBootConfig);
  CHECK(boot_config_from_cmdline(nul_joined({"exe", "_boot-vm", "/a", "_boot-vm", "/b"})) ==
        std::optional<std::string>("/a"));
  CHECK(boot_config_from_cmdline(nul_joined({"/path with space/exe", "_boot-vm", "/dir with space/boot-config.json"})) ==
        std::optional<std::string>("/dir with space/boot-config.json"));
  CHECK_FALSE(boot_config_from_cmdline(nul_joined({"/proc/self/exe", "_boot-vm"})).has_value());
  CHECK_FALSE(boot_config_from_cmdline(nul_joined({"/proc/self/exe", "_boot-vm", ""})).has_value());
  CHECK_FALSE(boot_config_from_cmdline(nul_joined({"smolvm", "machine", "start", "--name", "sb1"})).has_value());
  CHECK_FALSE(boot_config_from_cmdline(nul_joined({"exe", "x_boot-vm", "/a"})).has_value());
  CHECK_FALSE(boot_config_from_cmdline("").has_value());
  CHECK_FALSE(boot_config_from_cmdline(std::string(1, '\0')).has_value());
  CHECK_FALSE(boot_config_from_cmdline("/proc/self/exe _boot-vm /a").has_value());  // one argument, no NULs
}

TEST_CASE("cmdline_contains matches like smolvm's NUL-to-space check", "[smolvm]") {
  std::string cmd = nul_joined({"/proc/self/exe", "_boot-vm", kBootConfig});
  CHECK(cmdline_contains(cmd, kBootConfig));
  CHECK(cmdline_contains(cmd, "320983ce679b69a1"));
  CHECK(cmdline_contains(cmd, "_boot-vm " + kBootConfig));  // across the argument boundary, as smolvm
  CHECK_FALSE(cmdline_contains(cmd, "/home/u/.cache/smolvm/vms/37a8eec1ce19687d/boot-config.json"));
  CHECK_FALSE(cmdline_contains(cmd, ""));
  CHECK_FALSE(cmdline_contains("", kBootConfig));
}

TEST_CASE("parse_booted_policy reads resources.allowed_cidrs", "[smolvm]") {
  struct Case {
    const char* json;
    AllowedCidrs::Kind kind;
    std::vector<std::string> cidrs;
  };
  const Case cases[] = {
      {R"({"name":"sb1","resources":{"cpus":1,"mem":512,"network":true,"allowed_cidrs":["127.0.0.16/32"]}})",
       AllowedCidrs::Kind::List, {"127.0.0.16/32"}},
      {R"({"resources":{"allowed_cidrs":[]}})", AllowedCidrs::Kind::List, {}},
      {R"({"resources":{"allowed_cidrs":null}})", AllowedCidrs::Kind::Null, {}},
      {R"({"resources":{"cpus":1}})", AllowedCidrs::Kind::Null, {}},
      {R"({"resources":{"allowed_cidrs":"0.0.0.0/0"}})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"resources":{"allowed_cidrs":[1]}})", AllowedCidrs::Kind::Invalid, {}},
      {R"({"allowed_cidrs":["x"],"resources":{"allowed_cidrs":["10.0.0.0/8","1.1.1.1/32"]}})",
       AllowedCidrs::Kind::List, {"10.0.0.0/8", "1.1.1.1/32"}},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto r = parse_booted_policy(c.json);
    REQUIRE(r.has_value());
    CHECK(r->kind == c.kind);
    CHECK(r->cidrs == c.cidrs);
  }
}

TEST_CASE("parse_booted_policy errors", "[smolvm]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "not a JSON object"},
      {"{}", "no \"resources\" object"},
      {R"({"resources":null})", "no \"resources\" object"},
      {R"({"resources":[]})", "no \"resources\" object"},
      {R"({"resources":{"allowed_cidrs":[],"allowed_cidrs":null}})", "duplicate key 'allowed_cidrs'"},
  };
  for (const auto& [json, part] : cases) {
    INFO(json);
    auto r = parse_booted_policy(json);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error(), Catch::Contains(part));
  }
}

TEST_CASE("read_booted_policy reads the file and names it in errors", "[smolvm]") {
  bs::test::TempDir dir;
  const std::string path = dir / "boot-config.json";
  std::ofstream(path) << R"({"name":"sb1","resources":{"allowed_cidrs":["127.0.0.16/32"]}})";
  auto ok = bs::smolvm::read_booted_policy(path);
  REQUIRE(ok.has_value());
  CHECK(ok->cidrs == std::vector<std::string>{"127.0.0.16/32"});

  auto missing = bs::smolvm::read_booted_policy(dir / "absent.json");
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error(), Catch::Contains(dir / "absent.json"));
  CHECK_THAT(missing.error(), Catch::Contains("No such file"));

  const std::string bad = dir / "bad.json";
  std::ofstream(bad) << "{\"resources\":";
  auto broken = bs::smolvm::read_booted_policy(bad);
  REQUIRE_FALSE(broken.has_value());
  CHECK_THAT(broken.error(), Catch::StartsWith(bad + ": not valid JSON"));

  auto is_dir = bs::smolvm::read_booted_policy(dir.path());
  CHECK_FALSE(is_dir.has_value());

  const std::string huge = dir / "huge.json";
  std::ofstream(huge) << "{\"resources\":{},\"pad\":\"" << std::string(5u << 20, 'x') << "\"}";
  auto too_big = bs::smolvm::read_booted_policy(huge);
  REQUIRE_FALSE(too_big.has_value());
  CHECK_THAT(too_big.error(), Catch::Contains("larger than 4096 KiB"));

  // A FIFO planted where the file should be must not hang the reader.
  const std::string fifo = dir / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_FALSE(bs::smolvm::read_booted_policy(fifo).has_value());
}
