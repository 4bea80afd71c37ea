// `validate FILE...`: "<file>: ok" per valid file, "file:line:col: message" per problem, exit 0/1.
#include <sys/stat.h>
#include <unistd.h>

#include "cli_test_support.h"
#include "supervisor/commands.h"

using bs::supervisor::CommandIo;
using bs::supervisor::Invocation;
using bs::supervisor::Settings;

namespace {

struct Run {
  int code;
  std::string out, err;
};

Run validate(const Settings& settings, std::vector<std::string> files, bool explain = false) {
  Invocation inv;
  inv.explain = explain;
  inv.command = bs::supervisor::Command::Validate;
  inv.operands = std::move(files);
  std::ostringstream out, err;
  CommandIo io{out, err, false, bs::platform::map_env({}), [] { return std::int64_t{0}; }};
  int code = bs::supervisor::cmd_validate(settings, inv, io);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("validate: valid and invalid files", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;  // default config: pool 127.0.0.16/28
  const std::string good = tmp / "web.toml";
  const std::string bad = tmp / "db.toml";
  bs::cli_test::write_file(good, "image = \"alpine:3.20\"\n[egress]\nallow = [\"10.0.0.0/8\"]\n");
  bs::cli_test::write_file(bad, "image = \"alpine:3.20\"\ncpus = 0\n");

  auto ok = validate(settings, {good});
  CHECK(ok.code == 0);
  CHECK(ok.out == good + ": ok\n");
  CHECK(ok.err.empty());

  auto mixed = validate(settings, {good, bad});
  CHECK(mixed.code == 1);
  CHECK_THAT(mixed.out, Catch::StartsWith(good + ": ok\n" + bad + ":2:8: cpus = 0 is out of range"));
  CHECK(mixed.err == "error: 1 of 2 spec files are invalid\n");
}

TEST_CASE("validate: the pool comes from the config", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  const std::string spec = tmp / "web.toml";
  bs::cli_test::write_file(spec, "image = \"alpine:3.20\"\nloopback = \"127.0.1.5\"\n");
  Settings settings;
  CHECK(validate(settings, {spec}).code == 1);
  settings.config.pool = *bs::parse_pool("127.0.1.0/24");
  CHECK(validate(settings, {spec}).code == 0);
}

TEST_CASE("validate: files the daemon would not take", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  const std::string body = "image = \"alpine:3.20\"\n";

  SECTION("missing") {
    auto r = validate(settings, {tmp / "gone.toml"});
    CHECK(r.code == 1);
    CHECK(r.out == tmp / "gone.toml" + ": cannot read: No such file or directory\n");
    CHECK(r.err == "error: 1 of 1 spec file is invalid\n");
  }
  SECTION("writable by others") {
    bs::cli_test::write_file(tmp / "open.toml", body, 0666);
    auto r = validate(settings, {tmp / "open.toml"});
    CHECK(r.code == 1);
    CHECK(r.out == tmp / "open.toml" + ": writable by group or others (mode 666); the supervisor ignores it; run: "
                                       "chmod go-w " + tmp / "open.toml" + "\n");
  }
  SECTION("a name the folder scan skips") {
    bs::cli_test::write_file(tmp / "web.toml.bak", body);
    auto r = validate(settings, {tmp / "web.toml.bak"});
    CHECK(r.code == 1);
    CHECK_THAT(r.out, Catch::StartsWith(tmp / "web.toml.bak" + ":1:1: the supervisor ignores this file"));
  }
  SECTION("a folder") {
    REQUIRE(std::filesystem::create_directory(tmp / "x.toml"));
    auto r = validate(settings, {tmp / "x.toml"});
    CHECK(r.code == 1);
    CHECK(r.out == tmp / "x.toml" + ": not a regular file\n");
  }
}

TEST_CASE("validate without FILE: the spec folder as a whole, conflicts included", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.specs_dir = tmp / "bottles";
  REQUIRE(mkdir(settings.specs_dir.c_str(), 0700) == 0);
  const std::string a = settings.specs_dir + "/a.toml", b = settings.specs_dir + "/b.toml",
                    c = settings.specs_dir + "/c.toml";
  bs::cli_test::write_file(a, "image = \"alpine\"\nloopback = \"127.0.0.20\"\n");
  bs::cli_test::write_file(b, "image = \"alpine\"\nmachine = \"bottle-a\"\n");
  bs::cli_test::write_file(c, "image = \"alpine\"\nloopback = \"127.0.0.20\"\n");
  auto r = validate(settings, {});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::StartsWith(a + ": ok\n" + b + ": machine 'bottle-a' is already used by " + a + "\n" + c + ": "));
  CHECK_THAT(r.out, Catch::Contains("127.0.0.20"));
  CHECK(r.err == "error: 2 of 3 spec files in " + settings.specs_dir + " are invalid\n");

  REQUIRE(unlink(b.c_str()) == 0);
  REQUIRE(unlink(c.c_str()) == 0);
  CHECK(validate(settings, {}).code == 0);

  settings.specs_dir = tmp / "absent";
  r = validate(settings, {});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains(settings.specs_dir));
}

TEST_CASE("validate --explain: the effective machine, address, allowlist and actions", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  const std::string fixed = tmp / "web.toml", automatic = tmp / "db.toml";
  bs::cli_test::write_file(fixed, "image = \"alpine\"\nloopback = \"127.0.0.20\"\nstate = \"stopped\"\n"
                                  "[egress]\nallow = [\"10.0.0.0/8\"]\n");
  bs::cli_test::write_file(automatic, "image = \"alpine\"\n");
  auto r = validate(settings, {fixed}, true);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("machine:    bottle-web\n"));
  CHECK_THAT(r.out, Catch::Contains("address:    127.0.0.20\n"));
  CHECK_THAT(r.out, Catch::Contains("allowlist:  10.0.0.0/8, 127.0.0.20/32\n"));
  CHECK_THAT(r.out, Catch::Contains("keep it stopped"));
  r = validate(settings, {automatic}, true);
  CHECK_THAT(r.out, Catch::Contains("address:    auto"));
  CHECK_THAT(r.out, Catch::Contains("start it"));
  bs::cli_test::write_file(automatic, "cpus = 0\n");
  CHECK(validate(settings, {automatic}, true).code == 1);
}
