// The spec corpora under tests/specs/ and the example specs under etc/bottles/: every invalid file
// fails with exactly the diagnostics (message and position) listed in its folder's expected.txt;
// every valid file parses to the summary listed in valid/expected.txt.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "reconcile/spec.h"
#include "reconcile/spec_set.h"
#include "test_values.h"

using bs::test::kPool;

namespace fs = std::filesystem;

namespace {


std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::set<std::string> toml_files(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".toml") names.insert(e.path().filename().string());
  }
  return names;
}

// expected.txt: "FILE:REST" lines (REST = "LINE:COL: message" or ": summary"), '#' comments.
std::map<std::string, std::vector<std::string>> expectations(const fs::path& file) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(read_text(file));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(".toml:");
    REQUIRE(colon != std::string::npos);
    out[line.substr(0, colon + 5)].push_back(line.substr(colon + 6));
  }
  return out;
}

std::set<std::string> keys(const std::map<std::string, std::vector<std::string>>& m) {
  std::set<std::string> k;
  for (const auto& [name, lines] : m) k.insert(name);
  return k;
}

std::string summary(const bs::BottleSpec& s) {
  return " name=" + s.name + " machine=" + s.machine + " image=" + s.image.value_or("-") +
         " from=" + s.from.value_or("-") + " cpus=" + std::to_string(s.cpus) +
         " memory=" + std::to_string(s.memory_mib) + " state=" + std::string(bs::to_string(s.state)) +
         " loopback=" + (s.loopback ? s.loopback->str() : "auto") +
         " on_remove=" + std::string(bs::to_string(s.on_remove)) + " allow=" + bs::to_string(s.egress_allow);
}

void check_invalid_corpus(const fs::path& dir, std::size_t at_least) {
  const auto expected = expectations(dir / "expected.txt");
  const auto files = toml_files(dir);
  CHECK(files.size() >= at_least);
  // Every file has expectations and every expectation has its file: the corpus cannot rot.
  CHECK(keys(expected) == files);
  for (const std::string& name : files) {
    INFO("spec: " << (dir / name).string());
    // Parsed under its bare file name, so the messages do not depend on the checkout's location.
    auto r = bs::parse_bottle_spec(name, read_text(dir / name), kPool);
    REQUIRE_FALSE(r.has_value());
    std::vector<std::string> got;
    for (const bs::SpecDiag& d : r.error()) {
      CHECK(d.file == name);
      CHECK(d.line >= 1);
      CHECK(d.column >= 1);
      got.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
    }
    auto it = expected.find(name);
    REQUIRE(it != expected.end());
    CHECK(got == it->second);
  }
}

}  // namespace

TEST_CASE("invalid spec corpus: exact messages and positions", "[reconcile]") {
  check_invalid_corpus(fs::path(BS_SOURCE_DIR) / "tests/specs/invalid", 35);
}

TEST_CASE("invalid bottle names (from the file name) are reported at 1:1", "[reconcile]") {
  check_invalid_corpus(fs::path(BS_SOURCE_DIR) / "tests/specs/invalid-names", 6);
}

TEST_CASE("valid spec corpus parses to the expected specs", "[reconcile]") {
  const fs::path dir = fs::path(BS_SOURCE_DIR) / "tests/specs/valid";
  const auto expected = expectations(dir / "expected.txt");
  const auto files = toml_files(dir);
  CHECK(files.size() >= 8);
  CHECK(keys(expected) == files);
  std::vector<bs::SpecFile> set;
  for (const std::string& name : files) {
    const std::string text = read_text(dir / name);
    auto r = bs::parse_bottle_spec(name, text, kPool);
    INFO("spec: " << name << "\n" << (r ? std::string() : bs::format_diags(r.error())));
    REQUIRE(r.has_value());
    auto it = expected.find(name);
    REQUIRE(it != expected.end());
    REQUIRE(it->second.size() == 1);
    CHECK(summary(*r) == it->second.front());
    set.push_back({name, (dir / name).string(), text, std::nullopt});
  }
  // Together they are one valid folder: no machine or fixed loopback is used twice.
  for (const bs::SpecEntry& e : bs::resolve_specs(set, kPool)) {
    INFO("spec: " << e.path);
    CHECK(e.spec.has_value());
    CHECK_FALSE(e.error.has_value());
  }
}

TEST_CASE("the example specs in etc/bottles are valid, together", "[reconcile]") {
  const fs::path dir = fs::path(BS_SOURCE_DIR) / "etc/bottles";
  CHECK(toml_files(dir) == std::set<std::string>{"agent-1.toml", "agent-2.toml", "scratch.toml"});
  std::vector<bs::SpecFile> set;
  for (const std::string& name : toml_files(dir)) {
    set.push_back({name, (dir / name).string(), read_text(dir / name), std::nullopt});
  }
  const auto entries = bs::resolve_specs(set, kPool);
  REQUIRE(entries.size() == 3);
  for (const bs::SpecEntry& e : entries) {
    INFO("spec: " << e.path << "\n" << e.error.value_or(""));
    REQUIRE(e.spec.has_value());
  }

  const bs::BottleSpec& a1 = *entries[0].spec;
  CHECK(a1.name == "agent-1");
  CHECK(a1.machine == "bottle-agent-1");
  CHECK(a1.image == std::optional<std::string>("alpine:3.20"));
  CHECK(a1.cpus == 1);
  CHECK(a1.memory_mib == 512);
  CHECK(a1.state == bs::RunState::Running);
  CHECK_FALSE(a1.loopback.has_value());
  CHECK(a1.on_remove == bs::OnRemove::Delete);
  CHECK(a1.egress_allow.empty());

  const bs::BottleSpec& a2 = *entries[1].spec;
  CHECK(a2.name == "agent-2");
  CHECK(a2.cpus == 2);
  CHECK(a2.memory_mib == 1024);
  CHECK(a2.egress_allow.size() == 1);
  CHECK(bs::to_strings(a2.egress_allow) == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(a2.state == bs::RunState::Running);

  const bs::BottleSpec& sc = *entries[2].spec;
  CHECK(sc.name == "scratch");
  CHECK(sc.state == bs::RunState::Stopped);
  CHECK(sc.on_remove == bs::OnRemove::Keep);
  CHECK(sc.image == std::optional<std::string>("alpine:3.20"));
}
