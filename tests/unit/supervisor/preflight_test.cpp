// The preflight checks that do not depend on this host's hardware: the smolvm binary (a fake
// script), the spec and state folders, smolvm's DB, and the output format.
#include "cli_test_support.h"
#include "supervisor/commands.h"
#include "supervisor/preflight_checks.h"

using bs::supervisor::Check;
using bs::supervisor::Settings;
using Level = Check::Level;
using namespace std::chrono_literals;

namespace {

Settings settings_in(const bs::cli_test::TempDir& tmp) {
  Settings s;
  s.env = bs::platform::map_env({{"HOME", tmp.path()}, {"PATH", tmp / "bin"}});
  s.specs_dir = tmp / "specs";
  s.state_dir = tmp / "state";
  s.smolvm_bin = "smolvm";
  s.smolvm = bs::smolvm::derive_paths(s.env, tmp / "smolvm-root");
  return s;
}

void fake_smolvm(const bs::cli_test::TempDir& tmp, const std::string& body) {
  bs::cli_test::write_file(tmp / "bin/smolvm", "#!/bin/sh\n" + body + "\n", 0755);
}

}  // namespace

TEST_CASE("preflight: the smolvm binary and its version", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings s = settings_in(tmp);

  SECTION("not on PATH") {
    auto c = bs::supervisor::check_smolvm_binary(s);
    CHECK(c.level == Level::Fail);
    CHECK(c.message == "smolvm ('smolvm') is not on PATH");
  }
  SECTION("a checked version, found on PATH, run with SMOLVM_DATA_DIR") {
    fake_smolvm(tmp, "echo \"smolvm 1.32.2\"; echo \"$SMOLVM_DATA_DIR\" > \"$(dirname \"$0\")/data-dir\"");
    auto c = bs::supervisor::check_smolvm_binary(s);
    CHECK(c.level == Level::Ok);
    CHECK(c.message == "smolvm 1.32.2 (" + tmp / "bin/smolvm" + ")");
    std::ifstream seen(tmp / "bin/data-dir");
    std::string data_dir;
    std::getline(seen, data_dir);
    CHECK(data_dir == tmp / "smolvm-root");
  }
  SECTION("a version outside the checked 1.32.x: a warning naming the checked one") {
    for (const char* v : {"1.9.2", "1.31.9", "1.33.0", "2.0.0"}) {
      fake_smolvm(tmp, std::string("echo smolvm ") + v);
      auto c = bs::supervisor::check_smolvm_binary(s);
      INFO(v);
      CHECK(c.level == Level::Warn);
      CHECK_THAT(c.message, Catch::Contains("not a version the supervisor was checked against"));
      REQUIRE(c.hints.size() == 1);
      CHECK_THAT(c.hints[0], Catch::Contains("checked against smolvm 1.32.2"));
    }
    fake_smolvm(tmp, "echo smolvm 1.32.0");
    CHECK(bs::supervisor::check_smolvm_binary(s).level == Level::Ok);
  }
  SECTION("before 1.8.0: a warning saying why it matters") {
    fake_smolvm(tmp, "echo smolvm 1.7.3");
    auto c = bs::supervisor::check_smolvm_binary(s);
    CHECK(c.level == Level::Warn);
    REQUIRE(c.hints.size() == 1);
    CHECK(c.hints[0] == "--allow-cidr is dropped with --from before 1.8.0; the supervisor patches the row anyway");
  }
  SECTION("a hanging binary is killed after the timeout") {
    fake_smolvm(tmp, "exec sleep 30");
    auto started = std::chrono::steady_clock::now();
    auto c = bs::supervisor::check_smolvm_binary(s, 300ms);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK(c.level == Level::Fail);
    CHECK_THAT(c.message, Catch::Contains("did not finish"));
  }
  SECTION("a failing binary") {
    fake_smolvm(tmp, "echo 'Error: broken' >&2; exit 4");
    auto c = bs::supervisor::check_smolvm_binary(s);
    CHECK(c.level == Level::Fail);
    CHECK_THAT(c.message, Catch::EndsWith("--version failed (exit 4): Error: broken"));
  }
  SECTION("an explicit path") {
    fake_smolvm(tmp, "echo smolvm 1.32.1");
    s.smolvm_bin = tmp / "bin/smolvm";
    s.env = bs::platform::map_env({{"PATH", "/nonexistent"}});
    CHECK(bs::supervisor::check_smolvm_binary(s).level == Level::Ok);
  }
}

TEST_CASE("preflight: folders", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings s = settings_in(tmp);

  CHECK(bs::supervisor::check_spec_folder(s).level == Level::Ok);  // missing but creatable
  CHECK(bs::supervisor::check_state_folder(s).level == Level::Ok);

  REQUIRE(std::filesystem::create_directory(s.specs_dir));
  REQUIRE(chmod(s.specs_dir.c_str(), 0775) == 0);
  auto open = bs::supervisor::check_spec_folder(s);
  CHECK(open.level == Level::Fail);
  CHECK(open.message == "spec folder " + s.specs_dir + " is writable by group or others (mode 775)");
  CHECK(open.hints == std::vector<std::string>{"chmod go-w " + s.specs_dir});

  REQUIRE(chmod(s.specs_dir.c_str(), 0700) == 0);
  bs::cli_test::write_file(s.specs_dir + "/web.toml", "image = \"alpine:3.20\"\n");
  auto one = bs::supervisor::check_spec_folder(s);
  CHECK(one.level == Level::Ok);
  CHECK(one.message == "spec folder " + s.specs_dir + " (1 spec)");

  bs::cli_test::write_file(s.specs_dir + "/db.toml", "image = \"alpine:3.20\"\ncpus = 0\n");
  auto invalid = bs::supervisor::check_spec_folder(s);
  CHECK(invalid.level == Level::Warn);
  CHECK(invalid.message == "spec folder " + s.specs_dir + " (2 specs, 1 in error)");
  REQUIRE_FALSE(invalid.hints.empty());
  CHECK_THAT(invalid.hints[0], Catch::Contains("db.toml:2:8: cpus = 0 is out of range"));

  bs::cli_test::write_file(s.state_dir, "a file where the folder should be");
  CHECK(bs::supervisor::check_state_folder(s).level == Level::Fail);
}

TEST_CASE("preflight: smolvm's DB missing is a warning, and never created", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings s = settings_in(tmp);
  auto c = bs::supervisor::check_smolvm_db(s);
  CHECK(c.level == Level::Warn);
  CHECK(c.message == "smolvm has not run yet (no DB at " + s.smolvm.db + ")");
  CHECK_FALSE(std::filesystem::exists(s.smolvm.db));
}

TEST_CASE("preflight: one line per check, hints below, exit 1 on a FAIL", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings s = settings_in(tmp);  // no smolvm on PATH: at least that check FAILs
  std::ostringstream out, err;
  bs::supervisor::CommandIo io{out, err, false, s.env, [] { return std::int64_t{0}; }};
  int code = bs::supervisor::cmd_preflight(s, bs::supervisor::Invocation{}, io);
  CHECK(code == 1);
  CHECK_THAT(err.str(), Catch::StartsWith("error: "));
  std::istringstream lines(out.str());
  std::size_t checks = 0;
  for (std::string l; std::getline(lines, l);) {
    INFO(l);
    bool check_line = l.rfind("ok    ", 0) == 0 || l.rfind("warn  ", 0) == 0 || l.rfind("FAIL  ", 0) == 0;
    CHECK((check_line || l.rfind("      hint: ", 0) == 0));
    checks += check_line ? 1 : 0;
  }
  CHECK(checks == 7);
  CHECK_THAT(out.str(), Catch::Contains("FAIL  smolvm ('smolvm') is not on PATH\n      hint: install smolvm"));
}
