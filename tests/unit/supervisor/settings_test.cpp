// Settings from an environment map, the config file and flags (CONTRACT §2, §4).
#include <sys/stat.h>
#include <unistd.h>

#include "cli_test_support.h"
#include "supervisor/settings.h"

using bs::platform::map_env;
using bs::supervisor::CommonFlags;
using bs::supervisor::resolve_settings;
using bs::supervisor::Settings;
using namespace std::chrono_literals;

namespace {

Settings resolved(const CommonFlags& flags, std::map<std::string, std::string> env) {
  auto s = resolve_settings(flags, map_env(std::move(env)));
  if (!s) FAIL("unexpected error: " << s.error());
  return *s;
}

std::string cwd() {
  char buf[4096];
  REQUIRE(getcwd(buf, sizeof(buf)) != nullptr);
  return buf;
}

}  // namespace

TEST_CASE("settings: defaults from HOME alone", "[supervisor]") {
  auto s = resolved({}, {{"HOME", "/home/u"}});
  CHECK(s.specs_dir == "/home/u/.config/bottle-supervisor/bottles");
  CHECK(s.config_path == "/home/u/.config/bottle-supervisor/config.toml");
  CHECK_FALSE(s.config_found);
  CHECK(s.config == bs::Config{});
  CHECK(s.state_dir == "/home/u/.local/state/bottle-supervisor");
  CHECK(s.socket_path == "/home/u/.local/state/bottle-supervisor/control.sock");  // no XDG_RUNTIME_DIR
  CHECK(s.smolvm_bin == "smolvm");
  CHECK(s.smolvm.db == "/home/u/.local/share/smolvm/server/smolvm.db");
  CHECK(s.smolvm.vms_dir == "/home/u/.cache/smolvm/vms");
  CHECK(s.smolvm.data_root.empty());
  CHECK(s.lock_path == "/home/u/.cache/bot-bottle/smolmachines.lock");
  REQUIRE(s.env);
  CHECK(s.env("HOME") == "/home/u");
}

TEST_CASE("settings: XDG variables move every default but the bot-bottle lock", "[supervisor]") {
  auto s = resolved({}, {{"HOME", "/home/u"},
                         {"XDG_CONFIG_HOME", "/x/config"},
                         {"XDG_STATE_HOME", "/x/state"},
                         {"XDG_DATA_HOME", "/x/data"},
                         {"XDG_CACHE_HOME", "/x/cache"},
                         {"XDG_RUNTIME_DIR", "/run/user/1000"}});
  CHECK(s.specs_dir == "/x/config/bottle-supervisor/bottles");
  CHECK(s.config_path == "/x/config/bottle-supervisor/config.toml");
  CHECK(s.state_dir == "/x/state/bottle-supervisor");
  CHECK(s.socket_path == "/run/user/1000/bottle-supervisor/control.sock");
  CHECK(s.smolvm.db == "/x/data/smolvm/server/smolvm.db");
  CHECK(s.smolvm.vms_dir == "/x/cache/smolvm/vms");
  CHECK(s.lock_path == "/home/u/.cache/bot-bottle/smolmachines.lock");  // HOME-based, like bot-bottle

  // A relative XDG value is invalid per the spec and ignored.
  auto rel = resolved({}, {{"HOME", "/home/u"}, {"XDG_RUNTIME_DIR", "run"}, {"XDG_STATE_HOME", "state"}});
  CHECK(rel.state_dir == "/home/u/.local/state/bottle-supervisor");
  CHECK(rel.socket_path == "/home/u/.local/state/bottle-supervisor/control.sock");
}

TEST_CASE("settings: SMOLVM_DATA_DIR, config smolvm.data_dir and --smolvm-data-dir", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  std::map<std::string, std::string> env = {{"HOME", "/home/u"}, {"SMOLVM_DATA_DIR", "/sv"}};
  auto s = resolved({}, env);
  CHECK(s.smolvm.data_root == "/sv");
  CHECK(s.smolvm.db == "/sv/.local/share/smolvm/server/smolvm.db");
  CHECK(s.smolvm.vms_dir == "/sv/.cache/smolvm/vms");

  bs::cli_test::write_file(tmp / "config.toml", "[smolvm]\ndata_dir = \"~/smol\"\n");
  CommonFlags flags;
  flags.config = tmp / "config.toml";
  auto from_config = resolved(flags, env);
  CHECK(from_config.smolvm.data_root == "/home/u/smol");
  CHECK(from_config.smolvm.db == "/home/u/smol/.local/share/smolvm/server/smolvm.db");

  flags.smolvm_data_dir = "/flag-root";
  auto from_flag = resolved(flags, env);
  CHECK(from_flag.smolvm.data_root == "/flag-root");
  CHECK(from_flag.smolvm.db == "/flag-root/.local/share/smolvm/server/smolvm.db");
}

TEST_CASE("settings: flags win over the config file, which wins over defaults", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  const std::string config_dir = tmp / "config/bottle-supervisor";
  bs::cli_test::write_file(config_dir + "/config.toml",
                       "specs = \"~/my-specs\"\n"
                       "state_dir = \"/cfg/state\"\n"
                       "socket = \"/cfg/sock\"\n"
                       "log_level = \"debug\"\n"
                       "[smolvm]\nbin = \"/opt/smolvm/bin/smolvm\"\n"
                       "[loopback]\npool = \"127.0.1.0/24\"\nlock = \"~/locks/alloc.lock\"\n");
  std::map<std::string, std::string> env = {{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", tmp / "config"}};

  auto c = resolved({}, env);
  CHECK(c.config_found);
  CHECK(c.config_path == config_dir + "/config.toml");
  CHECK(c.specs_dir == "/home/u/my-specs");
  CHECK(c.state_dir == "/cfg/state");
  CHECK(c.socket_path == "/cfg/sock");
  CHECK(c.smolvm_bin == "/opt/smolvm/bin/smolvm");
  CHECK(c.lock_path == "/home/u/locks/alloc.lock");
  CHECK(c.config.log_level == "debug");
  CHECK(c.config.pool.str() == "127.0.1.0/24");

  CommonFlags flags;
  flags.specs = "/flag/specs";
  flags.state_dir = "~/flag-state";
  flags.socket = "rel/control.sock";
  flags.smolvm = "./bin/smolvm-sim";
  auto f = resolved(flags, env);
  CHECK(f.specs_dir == "/flag/specs");
  CHECK(f.state_dir == "/home/u/flag-state");
  CHECK(f.socket_path == cwd() + "/rel/control.sock");  // relative flags are made absolute
  CHECK(f.smolvm_bin == cwd() + "/bin/smolvm-sim");

  flags.smolvm = "smolvm-sim";  // a bare name stays a name, for the PATH search
  CHECK(resolved(flags, env).smolvm_bin == "smolvm-sim");

  // With --state-dir and no socket anywhere, the socket follows the state dir.
  bs::cli_test::write_file(config_dir + "/config.toml", "");
  CommonFlags state_only;
  state_only.state_dir = "/st";
  CHECK(resolved(state_only, env).socket_path == "/st/control.sock");
}

TEST_CASE("settings: config file errors", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  std::map<std::string, std::string> env = {{"HOME", tmp.path()}};

  SECTION("--config naming a missing file") {
    CommonFlags flags;
    flags.config = tmp / "nope.toml";
    auto s = resolve_settings(flags, map_env(env));
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == "config file " + tmp / "nope.toml" + " does not exist");
  }
  SECTION("a bad value names the file, position and key") {
    bs::cli_test::write_file(tmp / ".config/bottle-supervisor/config.toml", "debounce = \"50ms\"\nresync_interval = \"12x\"\n");
    auto s = resolve_settings({}, map_env(env));
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error(), Catch::StartsWith(tmp / ".config/bottle-supervisor/config.toml:2:"));
    CHECK_THAT(s.error(), Catch::Contains("resync_interval"));
  }
  SECTION("an unknown key") {
    bs::cli_test::write_file(tmp / ".config/bottle-supervisor/config.toml", "[smolvm]\nbinary = \"x\"\n");
    auto s = resolve_settings({}, map_env(env));
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error(), Catch::Contains("smolvm.binary"));
  }
  SECTION("a config path that is a folder") {
    REQUIRE(std::filesystem::create_directories(tmp / ".config/bottle-supervisor/config.toml"));
    auto s = resolve_settings({}, map_env(env));
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == "the config file " + tmp / ".config/bottle-supervisor/config.toml" + ": not a regular file");
  }
  SECTION("a FIFO is refused at once, never waited on for a writer") {
    REQUIRE(std::filesystem::create_directories(tmp / ".config/bottle-supervisor"));
    REQUIRE(mkfifo((tmp / ".config/bottle-supervisor/config.toml").c_str(), 0600) == 0);
    auto s = resolve_settings({}, map_env(env));  // before: blocked in open() forever
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == "the config file " + tmp / ".config/bottle-supervisor/config.toml" + ": not a regular file");
  }
  SECTION("a config over 1 MiB is refused unread") {
    bs::cli_test::write_file(tmp / ".config/bottle-supervisor/config.toml", std::string((1 << 20) + 1, '#'));
    auto s = resolve_settings({}, map_env(env));
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error() == "the config file " + tmp / ".config/bottle-supervisor/config.toml" + ": larger than 1 MiB");
  }
}

TEST_CASE("settings: a reload re-reads the same file and keeps the flags", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  const std::string config = tmp / "c.toml";
  bs::cli_test::write_file(config, "log_level = \"info\"\n");
  CommonFlags flags;
  flags.config = config;
  flags.specs = "/flag/specs";
  auto first = resolved(flags, {{"HOME", "/home/u"}});

  bs::cli_test::write_file(config, "log_level = \"debug\"\nspecs = \"/cfg/specs\"\n");
  auto again = bs::supervisor::reload_settings(first, flags);
  REQUIRE(again.has_value());
  CHECK(again->config.log_level == "debug");
  CHECK(again->specs_dir == "/flag/specs");

  bs::cli_test::write_file(config, "log_level = \"loud\"\n");
  auto bad = bs::supervisor::reload_settings(first, flags);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error(), Catch::Contains("log_level"));
}
