// `status` and `reconcile` against a ControlServer standing in for the daemon: what they print
// and the exit codes of CONTRACT §7.
#include <unistd.h>

#include <csignal>
#include <future>

#include "cli_test_support.h"
#include "store/state_store.h"
#include "supervisor/commands.h"
#include "supervisor/control_server.h"

using bs::supervisor::CommandIo;
using bs::supervisor::ControlReply;
using bs::supervisor::ControlRequest;
using bs::supervisor::ControlServer;
using bs::supervisor::Invocation;
using bs::supervisor::Settings;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Output {
  std::string out, err;
  int code = -1;
};

// The §8 document the fake daemon serves; bottles filtered by name like the daemon does.
json served_document(bool b_converged) {
  auto bottle = [](const std::string& name, bool converged) {
    return json{{"name", name},   {"machine", "bottle-" + name},  {"address", "127.0.0.16"},
                {"allowlist", {"127.0.0.16/32"}}, {"desired", "running"}, {"actual", "running"}, {"pid", 42},
                {"booted", R"(["127.0.0.16/32"])"},
                {"confinement", converged ? "verified" : "pending"}, {"converged", converged},
                {"error", nullptr}, {"last_event", "started"}, {"last_event_at", "2026-11-29T12:00:00Z"},
                {"last_exit", {{"pid", 41}, {"status", "exit code 1"}, {"at", "2026-11-29T11:59:58Z"}}}};
  };
  return json{{"supervisor", {{"version", "0.1.0"}, {"pid", 1}, {"uptime_s", 1.5}, {"counters", json::object()}}},
              {"bottles", {bottle("a", true), bottle("b", b_converged)}}};
}

class FakeDaemon {
 public:
  explicit FakeDaemon(bs::cli_test::TestLoop& loop, const std::string& path) : loop_(loop) {
    auto s = ControlServer::listen(loop.get(), path, [this](const ControlRequest& req, ControlReply reply) {
      requests.push_back(req.body);
      // --watch ends at SIGTERM: sent once it has polled this often.
      if (stop_after != 0 && requests.size() == stop_after) kill(getpid(), SIGTERM);
      if (req.cmd == "reconcile") pending = reply;  // answered when the "pass" ends
      else answer(req, reply);
    });
    REQUIRE(s.has_value());
    server_ = std::move(*s);
  }

  void answer(const ControlRequest& req, const ControlReply& reply) {
    if (refuse) {
      reply(json{{"ok", false}, {"error", "the daemon is reloading"}});
      return;
    }
    json doc = served_document(b_converged);
    if (!req.bottles.empty()) {
      json kept = json::array();
      for (const auto& b : doc["bottles"]) {
        if (std::find(req.bottles.begin(), req.bottles.end(), b["name"].get<std::string>()) != req.bottles.end()) kept.push_back(b);
      }
      doc["bottles"] = kept;
    }
    reply(json{{"ok", true}, {"status", doc}});
  }

  // Runs a command on a helper thread (it blocks) while the loop turns here.
  Output run(const Settings& settings, Invocation inv,
             int (*command)(const Settings&, const Invocation&, CommandIo&)) {
    auto result = std::async(std::launch::async, [&settings, inv, command] {
      std::ostringstream out, err;
      CommandIo io{out, err, false, bs::platform::map_env({}), [] { return std::int64_t{1'795'953'612'000}; }};
      Output o;
      o.code = command(settings, inv, io);
      o.out = out.str();
      o.err = err.str();
      return o;
    });
    REQUIRE(loop_.run_until([&] {
      if (pending) {
        ControlRequest req;
        ControlReply reply = std::exchange(pending, nullptr);
        answer(req, reply);
      }
      return result.wait_for(0s) == std::future_status::ready;
    }));
    return result.get();
  }

  std::vector<json> requests;
  ControlReply pending;
  bool b_converged = true;
  bool refuse = false;
  std::size_t stop_after = 0;

 private:
  bs::cli_test::TestLoop& loop_;
  std::unique_ptr<ControlServer> server_;
};

Invocation status_inv(std::vector<std::string> names = {}, bool json_out = false) {
  Invocation inv;
  inv.command = bs::supervisor::Command::Status;
  inv.operands = std::move(names);
  inv.json = json_out;
  return inv;
}

}  // namespace

TEST_CASE("status command: exit codes and output", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  Settings settings;
  settings.socket_path = tmp / "bottle-supervisor/control.sock";
  FakeDaemon daemon(loop, settings.socket_path);

  SECTION("all converged: 0, a table") {
    auto o = daemon.run(settings, status_inv(), bs::supervisor::cmd_status);
    CHECK(o.code == 0);
    CHECK(o.err.empty());
    CHECK_THAT(o.out, Catch::StartsWith("bottle-supervisor 0.1.0  pid 1  up 1s  no resync yet\npatches -"));
    CHECK_THAT(o.out, Catch::Contains("\na     bottle-a  127.0.0.16  running  running  verified     42   started 12s ago\n"));
    CHECK(daemon.requests.back() == json{{"cmd", "status"}});
  }
  SECTION("one not converged: 1") {
    daemon.b_converged = false;
    CHECK(daemon.run(settings, status_inv(), bs::supervisor::cmd_status).code == 1);
    CHECK(daemon.run(settings, status_inv({"a"}), bs::supervisor::cmd_status).code == 0);  // only a is shown
    CHECK(daemon.requests.back() == json{{"cmd", "status"}, {"bottles", {"a"}}});
  }
  SECTION("--json prints the document as the daemon sent it") {
    auto o = daemon.run(settings, status_inv({}, true), bs::supervisor::cmd_status);
    CHECK(o.code == 0);
    CHECK(json::parse(o.out) == served_document(true));
    CHECK_THAT(o.out, Catch::StartsWith("{\n  \"bottles\": [\n    {\n      \"actual\": \"running\","));
  }
  SECTION("an unknown name: 1 and an error naming it") {
    auto o = daemon.run(settings, status_inv({"a", "zzz"}), bs::supervisor::cmd_status);
    CHECK(o.code == 1);
    CHECK(o.err == "error: no bottle named 'zzz'\nhint: 'bottle-supervisor status' lists every bottle\n");
    CHECK_THAT(o.out, Catch::Contains("\na  "));
  }
  SECTION("status NAME describes the bottle, with its last ten events from the state DB") {
    settings.state_dir = tmp / "state";
    {
      auto db = bs::store::StateStore::open(settings.state_dir);
      REQUIRE(db.has_value());
      for (int i = 0; i < 12; ++i) {
        REQUIRE_FALSE(db->append_event({0, 1'795'953'600'000 + i, "a", "bottle-a", i == 11 ? "started" : "patched",
                                        "n" + std::to_string(i)}));
      }
      REQUIRE_FALSE(db->append_event({0, 1'795'953'600'000, "b", "bottle-b", "started", "other bottle"}));
    }
    auto o = daemon.run(settings, status_inv({"a"}), bs::supervisor::cmd_status);
    INFO(o.out);
    CHECK(o.code == 0);
    CHECK_THAT(o.out, Catch::StartsWith("Name:         a\n"));
    CHECK_THAT(o.out, Catch::Contains("\nMachine:      bottle-a\n"));
    CHECK_THAT(o.out, Catch::Contains("\nAllowlist:    127.0.0.16/32\n"));
    CHECK_THAT(o.out, Catch::Contains("\nPid:          42  up 11s\n"));  // since the last "started"
    CHECK_THAT(o.out, Catch::Contains("\nBooted with:  [\"127.0.0.16/32\"]\n"));
    CHECK_THAT(o.out, Catch::Contains("\nConfinement:  verified\n"));
    CHECK_THAT(o.out, Catch::Contains("\nLast exit:    pid 41, exit code 1, at 2026-11-29T11:59:58Z\n"));
    CHECK_THAT(o.out, Catch::Contains("patched  n2\n"));
    CHECK(o.out.find("patched  n1\n") == std::string::npos);  // only the last ten
    CHECK(o.out.find("other bottle") == std::string::npos);
  }
  SECTION("-o name: one name per line; -o wide: nothing cut") {
    auto inv = status_inv();
    inv.output = Invocation::Output::Name;
    CHECK(daemon.run(settings, inv, bs::supervisor::cmd_status).out == "a\nb\n");
    inv.output = Invocation::Output::Wide;
    CHECK_THAT(daemon.run(settings, inv, bs::supervisor::cmd_status).out, Catch::Contains("NAME"));
  }
  SECTION("--watch polls every second, draws only a changed document, and ends at SIGTERM") {
    daemon.stop_after = 3;
    auto inv = status_inv();
    inv.watch = true;
    auto o = daemon.run(settings, inv, bs::supervisor::cmd_status);
    CHECK(o.code == 0);
    CHECK(daemon.requests.size() >= 3);
    // The same document three times: one table.
    CHECK(o.out.find("NAME") != std::string::npos);
    CHECK(o.out.find("NAME") == o.out.rfind("NAME"));
  }
  SECTION("the daemon refuses: 1 with its message") {
    daemon.refuse = true;
    auto o = daemon.run(settings, status_inv(), bs::supervisor::cmd_status);
    CHECK(o.code == 1);
    CHECK(o.err == "error: the daemon is reloading\n");
  }
  SECTION("reconcile waits for the pass and prints like status") {
    Invocation inv;
    inv.command = bs::supervisor::Command::Reconcile;
    daemon.b_converged = false;
    auto o = daemon.run(settings, inv, bs::supervisor::cmd_reconcile_remote);
    CHECK(o.code == 1);
    CHECK(daemon.requests.back() == json{{"cmd", "reconcile"}});
    CHECK_THAT(o.out, Catch::Contains("pending"));
  }
}

TEST_CASE("status command: no daemon is exit 3 with the socket named", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.socket_path = tmp / "control.sock";
  std::ostringstream out, err;
  CommandIo io{out, err, false, bs::platform::map_env({}), [] { return std::int64_t{0}; }};
  CHECK(bs::supervisor::cmd_status(settings, status_inv(), io) == 3);
  CHECK(out.str().empty());
  CHECK(err.str() == "error: bottle-supervisor is not running (no daemon at " + settings.socket_path +
                         ")\nhint: start it with 'systemctl --user start bottle-supervisor' or "
                         "'bottle-supervisor run'\n");
  Invocation reconcile;
  reconcile.command = bs::supervisor::Command::Reconcile;
  CHECK(bs::supervisor::cmd_reconcile_remote(settings, reconcile, io) == 3);
}
