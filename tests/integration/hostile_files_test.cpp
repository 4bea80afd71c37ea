// Files the daemon reads that are built to hurt it (CONTRACT §3, §4): a config that is a FIFO,
// TOML nested 50,000 levels deep in a spec or the config. The daemon refuses each with an error
// naming the file and keeps running and answering; nothing blocks or crashes its loop.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "harness.h"

using namespace bs::integ;

namespace {

std::string deep_dotted_key() {
  std::string key = "a";
  for (int i = 1; i < 50'000; ++i) key += ".a";
  return key + " = 1\n";
}

// `status` with a copy of the config: the CLI reads the config file too, and this one is hostile.
Status status_with(TempHome& h, const std::string& config) {
  return status_from(h.cli({"status", "--json", "--config", config}, {}, Ms(10000)));
}

}  // namespace

TEST_CASE("a FIFO or a deeply nested config on SIGHUP is refused, the daemon keeps answering",
          "[integration]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  const std::string good_config = h.dir() + "/good-config.toml";
  std::filesystem::copy_file(h.config_path(), good_config);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("calm", spec_toml());
  h.wait_verified("calm");

  std::filesystem::remove(h.config_path());
  REQUIRE(::mkfifo(h.config_path().c_str(), 0600) == 0);
  d.signal(SIGHUP);  // before: the loop blocked in open() waiting for a writer, forever
  h.wait_until("the daemon to refuse the FIFO config", [&] {
    return contains(d.log(), h.config_path() + ": not a regular file");
  });
  Status st = status_with(h, good_config);
  INFO(st.raw);
  REQUIRE(st.doc.is_object());
  CHECK(st.doc["supervisor"]["pid"] == d.pid());
  // The CLI refuses it the same way, at once.
  RunResult cli = h.cli({"status"}, {}, Ms(10000));
  CHECK(cli.exit_code == 1);
  CHECK(contains(cli.err, "not a regular file"));

  std::filesystem::remove(h.config_path());
  h.write_config_text(deep_dotted_key());
  d.signal(SIGHUP);  // before: a stack overflow in toml++, the daemon died
  h.wait_until("the daemon to refuse the deep config", [&] {
    return contains(d.log(), h.config_path() + ":1:130: nested more than 64 levels");
  });
  REQUIRE_FALSE(d.exit_code());
  st = status_with(h, good_config);
  REQUIRE(st.doc.is_object());
  CHECK(verified_running(st.bottle("calm")));
  CHECK(d.stop() == 0);
}

TEST_CASE("a spec nested 50,000 levels deep is a positioned error at start and on change", "[integration]") {
  ConfigOptions cfg;
  cfg.resync_interval = "1h";
  TempHome h(cfg);
  h.write_spec("deep", spec_toml(deep_dotted_key()));
  h.write_spec("calm", spec_toml());
  Daemon d(h);  // before: it crashed at every start while the file was there
  d.wait_answering();
  h.wait_verified("calm");
  Json deep;
  h.wait_until("bottle deep in error, naming file, line and column", [&] {
    deep = h.status().bottle("deep");
    return deep.is_object() && deep["error"].is_string() &&
           contains(deep["error"].get<std::string>(), h.spec_path("deep") + ":2:130: nested more than 64 levels");
  });
  CHECK_FALSE(h.row("bottle-deep"));
  RunResult v = h.cli({"validate", h.spec_path("deep")});
  CHECK(v.exit_code == 1);
  CHECK(contains(v.out, h.spec_path("deep") + ":2:130: nested more than 64 levels"));
  REQUIRE_FALSE(d.exit_code());
  CHECK(d.stop() == 0);
}
