// The control socket itself: where and how it is created, stale and live sockets, who may
// connect, and the client when nobody listens.
#include <sys/wait.h>

#include "control_test_client.h"

using namespace bs::cli_test;

TEST_CASE("control: the socket is 0600 in a 0700 folder", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  SECTION("a folder it creates") {
    const std::string path = tmp / "run/bottle-supervisor/control.sock";
    auto server = serve(loop, path, sync_handler());
    CHECK(bs::test::permissions_of(tmp / "run/bottle-supervisor") == 0700);
    CHECK(bs::test::permissions_of(path) == 0600);
    struct stat st{};
    REQUIRE(lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
  }
  SECTION("its own folder, found too open, is tightened") {
    REQUIRE(mkdir((tmp / "bottle-supervisor").c_str(), 0755) == 0);
    REQUIRE(chmod((tmp / "bottle-supervisor").c_str(), 0755) == 0);
    auto server = serve(loop, tmp / "bottle-supervisor/control.sock", sync_handler());
    CHECK(bs::test::permissions_of(tmp / "bottle-supervisor") == 0700);
  }
  SECTION("a shared folder is left alone, but one others can write to is refused") {
    REQUIRE(mkdir((tmp / "shared").c_str(), 0755) == 0);
    REQUIRE(chmod((tmp / "shared").c_str(), 0755) == 0);
    auto server = serve(loop, tmp / "shared/control.sock", sync_handler());
    CHECK(bs::test::permissions_of(tmp / "shared") == 0755);
    REQUIRE(mkdir((tmp / "open").c_str(), 0777) == 0);
    REQUIRE(chmod((tmp / "open").c_str(), 0777) == 0);
    auto refused = ControlServer::listen(loop.get(), tmp / "open/control.sock", sync_handler());
    REQUIRE_FALSE(refused.has_value());
    CHECK_THAT(refused.error(), Catch::Contains("writable by other users"));
  }
}

TEST_CASE("control: a stale socket is replaced, a live one is not", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
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
  bs::cli_test::write_file(tmp / "bottle-supervisor/notes.txt", "keep me");
  auto not_socket = ControlServer::listen(loop.get(), tmp / "bottle-supervisor/notes.txt", sync_handler());
  REQUIRE_FALSE(not_socket.has_value());
  CHECK_THAT(not_socket.error(), Catch::Contains("is not a socket"));
  CHECK(std::filesystem::exists(tmp / "bottle-supervisor/notes.txt"));
}

TEST_CASE("control: a peer with another uid is refused unread", "[supervisor]") {
  if (geteuid() != 0) {
    WARN("needs root to run a client as nobody; skipped");
    return;
  }
  bs::cli_test::TempDir tmp;
  bs::cli_test::TestLoop loop;
  bs::cli_test::LogCapture log;
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

TEST_CASE("control client: a socket served by another uid is refused before sending", "[supervisor]") {
  if (geteuid() != 0) {
    WARN("needs root to serve a socket as nobody; skipped");
    return;
  }
  bs::cli_test::TempDir tmp;
  REQUIRE(chmod(tmp.path().c_str(), 0777) == 0);  // so that nobody can bind in it
  const std::string path = tmp / "control.sock";
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Exit codes: 0 = the client hung up without sending a byte, 1 = it sent a request.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 4) != 0) _exit(3);
    (void)!write(ready[1], "r", 1);
    int conn = accept(fd, nullptr, nullptr);
    char buf[64];
    ssize_t n = recv(conn, buf, sizeof(buf), 0);
    if (n > 0) (void)!send(conn, "{\"ok\":true}\n", 12, MSG_NOSIGNAL);
    _exit(n > 0 ? 1 : 0);
  }
  close(ready[1]);
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  auto r = control_request(path, json{{"cmd", "status"}}, 2s);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);  // it exits once we hang up
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ClientError::Kind::Untrusted);
  CHECK_THAT(r.error().message, Catch::StartsWith("refusing to talk to " + path + ": it is served by uid 65534"));
  CHECK_THAT(r.error().message, Catch::EndsWith("not by you (uid 0)"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // the request was never sent
}

TEST_CASE("control client: no daemon means NotRunning, naming the socket", "[supervisor]") {
  bs::cli_test::TempDir tmp;
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
