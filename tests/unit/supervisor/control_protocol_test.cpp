// The control protocol end to end: one JSON line in, one out, replies now or later, and clients
// that misbehave (garbage, 10 MB, no newline, too many) without stalling the loop.
#include <sys/wait.h>

#include "control_test_client.h"

using namespace bs::cli_test;

TEST_CASE("control: a request round trip", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  auto server = serve(loop, path, sync_handler());

  auto reply = ask(path, json{{"cmd", "status"}, {"bottles", {"a", "b"}}});
  REQUIRE(loop.run_until([&] { return ready(reply); }));
  auto r = reply.get();
  REQUIRE(r.has_value());
  CHECK((*r)["ok"] == true);
  CHECK((*r)["status"]["cmd"] == "status");
  CHECK((*r)["status"]["bottles"] == json({"a", "b"}));
  REQUIRE(loop.run_until([&] { return server->open_connections() == 0; }));

  server.reset();
  loop.drain();
  struct stat st{};
  CHECK(stat(path.c_str(), &st) != 0);  // a clean stop removes the socket
}

TEST_CASE("control: replies may come later, or never", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  std::vector<ControlReply> pending;
  auto server = serve(loop, path, [&](const ControlRequest&, ControlReply reply) { pending.push_back(reply); });

  SECTION("a reply sent after the handler returned reaches the client") {
    auto reply = ask(path, json{{"cmd", "reconcile"}});
    REQUIRE(loop.run_until([&] { return pending.size() == 1; }));
    loop.run_until([] { return false; }, 50ms);  // give a wrong early reply the chance to show
    CHECK_FALSE(ready(reply));
    pending[0](json{{"ok", true}, {"status", {{"pass", 1}}}});
    pending[0](json{{"ok", false}, {"error", "a second reply is ignored"}});
    REQUIRE(loop.run_until([&] { return ready(reply); }));
    auto r = reply.get();
    REQUIRE(r.has_value());
    CHECK((*r)["status"]["pass"] == 1);
  }
  SECTION("a reply after the client gave up is harmless, and frees the connection") {
    auto reply = ask(path, json{{"cmd", "reconcile"}}, 200ms);
    REQUIRE(loop.run_until([&] { return ready(reply); }));
    auto r = reply.get();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == ClientError::Kind::Timeout);
    REQUIRE(pending.size() == 1);
    pending[0](json{{"ok", true}, {"status", json::object()}});
    CHECK(loop.run_until([&] { return server->open_connections() == 0; }));
  }
  SECTION("a handler that drops the reply closes the connection") {
    auto reply = ask(path, json{{"cmd", "reconcile"}});
    REQUIRE(loop.run_until([&] { return pending.size() == 1; }));
    pending.clear();
    REQUIRE(loop.run_until([&] { return ready(reply); }));
    auto r = reply.get();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().kind == ClientError::Kind::Protocol);
    CHECK(server->open_connections() == 0);
  }
  SECTION("a reply kept past the server's end is harmless") {
    auto reply = ask(path, json{{"cmd", "reconcile"}});
    REQUIRE(loop.run_until([&] { return pending.size() == 1; }));
    server.reset();
    REQUIRE(loop.run_until([&] { return ready(reply); }));
    CHECK_FALSE(reply.get().has_value());
    pending[0](json{{"ok", true}});
  }
}

TEST_CASE("control: malformed requests get an error reply", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  int handled = 0;
  auto server = serve(loop, path, [&](const ControlRequest& req, ControlReply reply) {
    ++handled;
    if (req.cmd == "throw") throw std::runtime_error("boom");
    reply(json{{"ok", true}, {"bad_utf8", std::string("caf\xc3")}});
  });
  auto exchange = [&](const std::string& line) {
    RawClient c(path);
    REQUIRE(c.connected());
    REQUIRE(c.send_all(line));
    auto got = std::async(std::launch::async, [&c] { return c.read_to_eof(5s); });
    REQUIRE(loop.run_until([&] { return ready(got); }));
    auto text = got.get();
    REQUIRE(text.has_value());
    REQUIRE(!text->empty());
    CHECK(text->back() == '\n');
    return json::parse(*text);
  };
  CHECK(exchange("this is not json\n")["error"] == "malformed request: not valid JSON");
  CHECK(exchange("[1,2]\n")["error"] == R"(malformed request: expected an object like {"cmd":"status"})");
  CHECK(exchange("{\"cmd\": 7}\n")["error"] == "malformed request: 'cmd' must be a string");
  CHECK(exchange("{\"cmd\":\"status\",\"bottles\":\"a\"}\n")["error"] ==
        "malformed request: 'bottles' must be a list of names");
  CHECK(handled == 0);
  CHECK(exchange("{\"cmd\":\"throw\"}\n")["error"] == "internal error: boom");
  auto odd = exchange("{\"cmd\":\"status\"}\r\n");
  CHECK(odd["ok"] == true);
  CHECK(odd["bad_utf8"] == "caf\xef\xbf\xbd");  // replaced, not a crash
  CHECK(handled == 2);
}

TEST_CASE("control: oversize requests are refused without stalling the loop", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  int handled = 0;
  auto server = serve(loop, path, [&](const ControlRequest& req, ControlReply reply) {
    ++handled;
    reply(status_of(req));
  });

  SECTION("just over 64 KiB, no newline") {
    RawClient c(path);
    REQUIRE(c.connected());
    REQUIRE(c.send_all(std::string(64 * 1024 + 1, 'x')));
    auto got = std::async(std::launch::async, [&c] { return c.read_to_eof(5s); });
    REQUIRE(loop.run_until([&] { return ready(got); }));
    auto text = got.get();
    REQUIRE(text.has_value());
    auto j = json::parse(text->substr(0, text->find('\n')));
    CHECK(j["ok"] == false);
    CHECK(j["error"] == "request too large (at most 65536 bytes)");
  }
  SECTION("10 MB") {
    RawClient c(path);
    REQUIRE(c.connected());
    auto sender = std::async(std::launch::async, [&c] { return c.send_all(std::string(10 * 1024 * 1024, '{')); });
    REQUIRE(loop.run_until([&] { return ready(sender); }));
    CHECK_FALSE(sender.get());  // the server stopped reading and closed
  }
  // Either way, the next client is served.
  auto reply = ask(path, json{{"cmd", "status"}});
  REQUIRE(loop.run_until([&] { return ready(reply); }));
  CHECK(reply.get().has_value());
  CHECK(handled == 1);
}

TEST_CASE("control: a client that never finishes its line is dropped after the timeout", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  ControlLimits limits;
  limits.request_timeout = 300ms;
  auto server = serve(loop, path, sync_handler(), limits);

  RawClient slow(path);
  REQUIRE(slow.connected());
  REQUIRE(slow.send_all("{\"cmd\":"));
  auto slow_result = std::async(std::launch::async, [&slow] { return slow.read_to_eof(5s); });

  // Meanwhile the server keeps serving others.
  auto reply = ask(path, json{{"cmd", "status"}});
  REQUIRE(loop.run_until([&] { return ready(reply); }));
  CHECK(reply.get().has_value());
  CHECK_FALSE(ready(slow_result));

  REQUIRE(loop.run_until([&] { return ready(slow_result); }));
  auto text = slow_result.get();
  REQUIRE(text.has_value());  // closed by the server, not by our own deadline
  CHECK_THAT(*text, Catch::Contains("no request received within 300 ms"));
  CHECK(loop.run_until([&] { return server->open_connections() == 0; }));
}

TEST_CASE("control: connections beyond the cap are closed at once", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  ControlLimits limits;
  limits.max_connections = 2;
  auto server = serve(loop, path, sync_handler(), limits);

  RawClient a(path), b(path);
  REQUIRE(loop.run_until([&] { return server->open_connections() == 2; }));
  RawClient c(path);
  REQUIRE(c.connected());
  auto refused = std::async(std::launch::async, [&c] { return c.read_to_eof(5s); });
  REQUIRE(loop.run_until([&] { return ready(refused); }));
  auto text = refused.get();
  REQUIRE(text.has_value());
  CHECK_THAT(*text, Catch::Contains("too many connections"));
  CHECK(server->open_connections() == 2);
}

TEST_CASE("control: a flood of refused connections is logged once a second, not once each", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  bs::cli_test::LogCapture log;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  ControlLimits limits;
  limits.max_connections = 1;
  auto server = serve(loop, path, sync_handler(), limits);
  RawClient held(path);
  REQUIRE(loop.run_until([&] { return server->open_connections() == 1; }));

  const auto started = std::chrono::steady_clock::now();
  constexpr int kFlood = 200;
  int refused = 0;
  for (int i = 0; i < kFlood; ++i) {
    RawClient c(path);
    REQUIRE(c.connected());
    auto text = std::async(std::launch::async, [&c] { return c.read_to_eof(5s); });
    REQUIRE(loop.run_until([&] { return ready(text); }));
    if (auto t = text.get(); t && t->find("too many connections") != std::string::npos) ++refused;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
  CHECK(refused == kFlood);
  const std::string text = log.text();
  std::size_t lines = 0;
  for (std::size_t at = text.find("connections already open"); at != std::string::npos;
       at = text.find("connections already open", at + 1)) {
    ++lines;
  }
  INFO(text);
  CHECK(lines >= 1);
  CHECK(lines <= static_cast<std::size_t>(seconds.count()) + 1);
  if (lines > 1) CHECK_THAT(text, Catch::Contains("more like it not logged"));
}


TEST_CASE("control: a request ended by a half-close instead of a newline still counts", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  auto server = serve(loop, path, sync_handler());
  RawClient c(path);
  REQUIRE(c.connected());
  REQUIRE(c.send_all(R"({"cmd":"status","bottles":["x"]})"));
  REQUIRE(shutdown(c.fd(), SHUT_WR) == 0);  // what `socat` or `nc -N` do at the end of their input
  auto got = std::async(std::launch::async, [&c] { return c.read_to_eof(5s); });
  REQUIRE(loop.run_until([&] { return ready(got); }));
  auto text = got.get();
  REQUIRE(text.has_value());
  auto j = json::parse(*text);
  CHECK(j["status"]["bottles"] == json::array({"x"}));
}
