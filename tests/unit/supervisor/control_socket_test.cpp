// The control socket end to end: ControlServer on a loop stepped by the test thread, clients on
// helper threads (control_request is blocking) or raw sockets, a forked `nobody` for the uid check.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cstring>
#include <future>
#include <optional>

#include "cli_test_support.h"
#include "supervisor/control_client.h"
#include "supervisor/control_server.h"

using bs::supervisor::ClientError;
using bs::supervisor::control_request;
using bs::supervisor::ControlLimits;
using bs::supervisor::ControlReply;
using bs::supervisor::ControlRequest;
using bs::supervisor::ControlServer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A raw client, for what control_request never does (no newline, garbage, 10 MB).
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // Sends as much as the peer takes; false once it stopped taking (EPIPE/ECONNRESET).
  bool send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Everything up to EOF (or the deadline). nullopt: the deadline passed with the peer still open.
  std::optional<std::string> read_to_eof(std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return got;  // EOF, or ECONNRESET after the server dropped unread input
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

json status_of(const ControlRequest& req) { return json{{"ok", true}, {"status", {{"cmd", req.cmd}, {"bottles", req.bottles}}}}; }

std::unique_ptr<ControlServer> serve(bs::test::TestLoop& loop, const std::string& path,
                                     bs::supervisor::ControlHandler handler, ControlLimits limits = {}) {
  auto server = ControlServer::listen(loop.get(), path, std::move(handler), limits);
  REQUIRE(server.has_value());
  return std::move(*server);
}

auto sync_handler() {
  return [](const ControlRequest& req, ControlReply reply) { reply(status_of(req)); };
}

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

// control_request on a helper thread; the test thread keeps the server's loop turning.
std::future<bs::Expected<json, ClientError>> ask(const std::string& path, json request,
                                                 std::chrono::milliseconds timeout = 5s) {
  return std::async(std::launch::async, [path, request = std::move(request), timeout] {
    return control_request(path, request, timeout);
  });
}

}  // namespace

TEST_CASE("control: a request round trip", "[supervisor]") {
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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

TEST_CASE("control: the socket is 0600 in a 0700 folder", "[supervisor]") {
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
  SECTION("a folder it creates") {
    const std::string path = tmp / "run/bottle-supervisor/control.sock";
    auto server = serve(loop, path, sync_handler());
    CHECK(bs::test::mode_of(tmp / "run/bottle-supervisor") == 0700);
    CHECK(bs::test::mode_of(path) == 0600);
    struct stat st{};
    REQUIRE(lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
  }
  SECTION("its own folder, found too open, is tightened") {
    REQUIRE(mkdir((tmp / "bottle-supervisor").c_str(), 0755) == 0);
    REQUIRE(chmod((tmp / "bottle-supervisor").c_str(), 0755) == 0);
    auto server = serve(loop, tmp / "bottle-supervisor/control.sock", sync_handler());
    CHECK(bs::test::mode_of(tmp / "bottle-supervisor") == 0700);
  }
  SECTION("a shared folder is left alone, but one others can write to is refused") {
    REQUIRE(mkdir((tmp / "shared").c_str(), 0755) == 0);
    REQUIRE(chmod((tmp / "shared").c_str(), 0755) == 0);
    auto server = serve(loop, tmp / "shared/control.sock", sync_handler());
    CHECK(bs::test::mode_of(tmp / "shared") == 0755);
    REQUIRE(mkdir((tmp / "open").c_str(), 0777) == 0);
    REQUIRE(chmod((tmp / "open").c_str(), 0777) == 0);
    auto refused = ControlServer::listen(loop.get(), tmp / "open/control.sock", sync_handler());
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error(), Catch::Contains("writable by other users"));
  }
}

TEST_CASE("control: a stale socket is replaced, a live one is not", "[supervisor]") {
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
  const std::string path = tmp / "bottle-supervisor/control.sock";
  REQUIRE(mkdir((tmp / "bottle-supervisor").c_str(), 0700) == 0);

  // What a killed daemon leaves behind: a bound socket file nobody listens on.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  close(fd);
  auto before = control_request(path, json{{"cmd", "status"}}, 1s);
  REQUIRE_FALSE(before.has_value());
  CHECK(before.error().kind == ClientError::Kind::NotRunning);

  auto server = serve(loop, path, sync_handler());
  auto reply = ask(path, json{{"cmd", "status"}});
  REQUIRE(loop.run_until([&] { return ready(reply); }));
  CHECK(reply.get().has_value());

  auto second = ControlServer::listen(loop.get(), path, sync_handler());
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() == "another bottle-supervisor is already listening on " + path);

  // A file that is not a socket is never removed.
  bs::test::write_file(tmp / "bottle-supervisor/notes.txt", "keep me");
  auto not_socket = ControlServer::listen(loop.get(), tmp / "bottle-supervisor/notes.txt", sync_handler());
  REQUIRE_FALSE(not_socket.has_value());
  CHECK_THAT(not_socket.error(), Catch::Contains("is not a socket"));
  CHECK(std::filesystem::exists(tmp / "bottle-supervisor/notes.txt"));
}

TEST_CASE("control: replies may come later, or never", "[supervisor]") {
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
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

TEST_CASE("control: a peer with another uid is refused unread", "[supervisor]") {
  if (geteuid() != 0) {
    WARN("needs root to run a client as nobody; skipped");
    return;
  }
  bs::test::TempDir tmp;
  bs::test::TestLoop loop;
  bs::test::LogCapture log;
  // Only for this test: a folder and socket `nobody` can reach, so the uid check is what refuses.
  const std::string path = tmp / "control.sock";
  REQUIRE(chmod(tmp.path().c_str(), 0711) == 0);
  int handled = 0;
  auto server = serve(loop, path, [&](const ControlRequest& req, ControlReply reply) {
    ++handled;
    reply(status_of(req));
  });
  REQUIRE(chmod(path.c_str(), 0666) == 0);

  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Exit codes: 0 = EOF without a byte, 1 = got a reply, 2 = setuid failed, 3 = connect failed.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) _exit(3);
    const char req[] = "{\"cmd\":\"status\"}\n";
    (void)!send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    _exit(n > 0 ? 1 : 0);
  }
  int status = 0;
  bool exited = loop.run_until([&] { return waitpid(child, &status, WNOHANG) == child; });
  if (!exited) kill(child, SIGKILL);  // our own child
  REQUIRE(exited);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(handled == 0);
  CHECK_THAT(log.text(), Catch::Contains("refused a connection from uid 65534"));

  // The owner is still served.
  auto reply = ask(path, json{{"cmd", "status"}});
  REQUIRE(loop.run_until([&] { return ready(reply); }));
  CHECK(reply.get().has_value());
}

TEST_CASE("control client: no daemon means NotRunning, naming the socket", "[supervisor]") {
  bs::test::TempDir tmp;
  const std::string path = tmp / "nothing/control.sock";
  auto r = control_request(path, json{{"cmd", "status"}}, 1s);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ClientError::Kind::NotRunning);
  CHECK(r.error().message == "bottle-supervisor is not running (no daemon at " + path + ")");

  auto too_long = control_request("/" + std::string(200, 'x'), json{{"cmd", "status"}}, 1s);
  REQUIRE_FALSE(too_long.has_value());
  CHECK(too_long.error().kind == ClientError::Kind::Other);
  CHECK_THAT(too_long.error().message, Catch::Contains("too long"));
}
