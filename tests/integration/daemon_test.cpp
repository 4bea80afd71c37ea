// The daemon as a service (CONTRACT §7): status exit codes, the single-instance lock, the private
// control socket, systemd's notify protocol and journal priorities, and smolvm commands that hang.
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <cstring>
#include <regex>
#include <sstream>

#include "harness.h"
#include "platform/process.h"

using namespace bs::integ;

namespace {

constexpr uid_t kNobody = 65534;

struct PeerAttempt {
  int code = -1;  // 10: connect failed, 11: connected but no status, 12: got a status reply
  std::string detail;
};

// Asks for status over the control socket from a forked child running as nobody.
PeerAttempt status_as_nobody(const std::string& socket_path) {
  int report[2];
  REQUIRE(pipe(report) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(report[0]);
    auto finish = [&](int code, const std::string& text) {
      ssize_t ignored = ::write(report[1], text.data(), text.size());
      (void)ignored;
      _exit(code);
    };
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) finish(20, "cannot drop to nobody");
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      finish(10, std::string("connect: ") + std::strerror(errno));
    }
    const std::string request = "{\"cmd\":\"status\"}\n";
    ssize_t sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    (void)sent;
    std::string reply;
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
    finish(reply.find("\"bottles\"") != std::string::npos ? 12 : 11, "reply: " + reply);
  }
  ::close(report[1]);
  PeerAttempt a;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) a.detail.append(buf, static_cast<std::size_t>(n));
  ::close(report[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  a.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return a;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

// A bound datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // Every assignment line received so far (one datagram may carry several).
  std::vector<std::string> receive() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      std::istringstream lines(std::string(buf, static_cast<std::size_t>(n)));
      std::string line;
      while (std::getline(lines, line)) {
        if (!line.empty()) lines_.push_back(line);
      }
    }
    return lines_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> lines_;
};

[[maybe_unused]] std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& l : lines) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TEST_CASE("status exit codes, a single daemon, and a control socket only its user can use", "[integration]") {
  TempHome h;
  RunResult none = h.cli({"status"});
  CHECK(none.exit_code == 3);
  CHECK(contains(none.err + none.out, h.socket_path()));

  Daemon d(h);
  d.wait_answering();
  h.write_spec("one", spec_toml());
  h.wait_verified("one");
  CHECK(h.status().exit_code == 0);
  CHECK(h.cli({"status"}).exit_code == 0);

  const std::string already = "already running (pid " + std::to_string(d.pid()) + ")";
  RunResult second = h.cli({"run"}, {}, Ms(10000));
  INFO(second.describe());
  CHECK(second.exit_code == 1);
  CHECK(contains(second.out + second.err, already));
  RunResult once = h.cli({"reconcile", "--once"}, {}, Ms(10000));
  INFO(once.describe());
  CHECK(once.exit_code == 1);
  CHECK(contains(once.out + once.err, already));

  const std::string folder = h.dir() + "/run/bottle-supervisor";
  CHECK(S_ISSOCK(mode_of(h.socket_path())));
  CHECK((mode_of(h.socket_path()) & 07777) == 0600);
  CHECK((mode_of(folder) & 07777) == 0700);

  // Another uid. For this check only, the folders are made traversable: the socket's own mode
  // refuses it; and with the socket opened up too, the daemon's peer check refuses it.
  for (const std::string& dir : {h.dir(), h.dir() + "/run", folder}) ::chmod(dir.c_str(), 0711);
  PeerAttempt by_mode = status_as_nobody(h.socket_path());
  INFO(by_mode.detail);
  CHECK(by_mode.code == 10);
  ::chmod(h.socket_path().c_str(), 0666);
  PeerAttempt by_peer = status_as_nobody(h.socket_path());
  INFO(by_peer.detail);
  CHECK(by_peer.code == 11);
  ::chmod(h.socket_path().c_str(), 0600);
  for (const std::string& dir : {folder, h.dir() + "/run", h.dir()}) ::chmod(dir.c_str(), 0700);
  h.wait_until("the daemon to log the refused peer", [&] { return contains(d.log(), "refused"); });
  CHECK(h.status().exit_code == 0);

  h.write_spec("bad", spec_toml("cpus = 0"));
  h.wait_until("status to exit 1 for an invalid spec", [&] { return h.status().exit_code == 1; });

  CHECK(d.stop() == 0);
  RunResult after = h.cli({"status"});
  CHECK(after.exit_code == 3);
  CHECK(contains(after.err + after.out, h.socket_path()));
}

#if BS_HAVE_SYSTEMD  // a build with systemd switched off sends no notifications
TEST_CASE("run under systemd: READY, STATUS, WATCHDOG pings and journal priorities", "[integration]") {
  TempHome h;
  h.write_spec("svc", spec_toml());
  const std::string notify_path = h.dir() + "/notify.sock";
  NotifySocket notify(notify_path);
  Daemon d(h, {{"NOTIFY_SOCKET", notify_path}, {"WATCHDOG_USEC", "200000"}, {"JOURNAL_STREAM", "1:1"}});

  std::vector<std::string> got;
  h.wait_until("READY=1, a STATUS= line and repeated WATCHDOG=1 on the notify socket", [&] {
    got = notify.receive();
    return count_prefix(got, "READY=1") >= 1 && count_prefix(got, "STATUS=") >= 1 &&
           count_prefix(got, "WATCHDOG=1") >= 3;
  });
  h.wait_verified("svc");
  CHECK(d.stop() == 0);

  const std::string log = d.log();
  REQUIRE_FALSE(log.empty());
  std::istringstream lines(log);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    INFO(line);
    CHECK(std::regex_search(line, std::regex("^<[0-7]>")));
    ++checked;
  }
  CHECK(checked > 0);
}
#endif  // BS_HAVE_SYSTEMD

TEST_CASE("a hanging smolvm command is killed at command_timeout and the bottle converges later",
          "[integration]") {
  ConfigOptions cfg;
  cfg.command_timeout = "1s";
  TempHome h(cfg);
  auto hung = std::make_unique<Daemon>(h, Env{{"SMOLVM_SIM_HANG_SECS", "30"}, {"SMOLVM_SIM_HANG_COMMANDS", "create"}});
  hung->wait_answering();
  h.write_spec("slow", spec_toml());

  std::int64_t create = 0;
  h.wait_until("the daemon to run `smolvm machine create`", [&] {
    for (std::int64_t pid : children_of(hung->pid())) {
      auto cmdline = bs::platform::read_cmdline(pid);
      if (cmdline && contains(*cmdline, std::string("machine\0create", 14))) create = pid;
    }
    return create != 0;
  });
  const auto seen = Clock::now();
  CHECK(wait_pid_gone(create, Ms(5000)));  // the hang is 30 s: only the 1 s timeout ends it this soon
  CHECK(elapsed_ms(seen) < 5000);

  Json b;
  h.wait_until("bottle slow showing the timeout", [&] {
    b = h.status().bottle("slow");
    return b.is_object() && b["error"].is_string() &&
           std::regex_search(lowercase(b["error"]), std::regex("timed out|timeout"));
  });
  CHECK(b["converged"] == false);
  CHECK_FALSE(h.row("bottle-slow"));

  REQUIRE(hung->stop() == 0);
  hung.reset();
  h.kill_orphaned_sim_commands();
  Daemon fine(h);
  Json ok = h.wait_verified("slow", Ms(15000));
  CHECK(h.booted_policy(ok["pid"]) == kFirstAllowlist);
}
