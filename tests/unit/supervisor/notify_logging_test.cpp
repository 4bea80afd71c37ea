// sd_notify messages on a datagram socket the test binds, and the journald priority prefixes.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdio>
#include <cstring>
#include <regex>

#include "cli_test_support.h"
#include "supervisor/logging.h"
#include "supervisor/notify.h"

namespace notify = bs::supervisor::notify;

namespace {

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

[[maybe_unused]] std::optional<std::string> receive(int fd) {  // unused with BS_SYSTEMD=OFF
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return std::nullopt;
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<std::size_t>(n));
}

// What the code under test writes to stderr (fd 2), captured through a temp file.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& path) : path_(path) {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { restore(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string finish() {
    restore();
    std::ifstream in(path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

// init_logging replaces the process-wide default logger; put the previous one back afterwards.
class KeepDefaultLogger {
 public:
  KeepDefaultLogger() : previous_(spdlog::default_logger()) {}
  ~KeepDefaultLogger() { spdlog::set_default_logger(previous_); }
  KeepDefaultLogger(const KeepDefaultLogger&) = delete;
  KeepDefaultLogger& operator=(const KeepDefaultLogger&) = delete;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

#if BS_HAVE_SYSTEMD
TEST_CASE("notify: READY, STATUS and WATCHDOG reach NOTIFY_SOCKET", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  const std::string path = tmp / "notify.sock";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  {
    ScopedEnv env("NOTIFY_SOCKET", path);
    notify::ready();
    CHECK(receive(fd) == "READY=1");
    notify::status("3 bottles: 3 converged\n(second line)");
    CHECK(receive(fd) == "STATUS=3 bottles: 3 converged (second line)");
    notify::watchdog();
    CHECK(receive(fd) == "WATCHDOG=1");
    notify::stopping();
    CHECK(receive(fd) == "STOPPING=1");
    notify::reloading();
    auto reload = receive(fd);
    REQUIRE(reload.has_value());
    CHECK(std::regex_match(*reload, std::regex("RELOADING=1\nMONOTONIC_USEC=[0-9]+")));
  }
  close(fd);
  notify::ready();  // no NOTIFY_SOCKET: a no-op, not an error
}

TEST_CASE("notify: the watchdog interval comes from WATCHDOG_USEC for this pid", "[supervisor]") {
  CHECK_FALSE(notify::watchdog_interval().has_value());
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()));
    CHECK(notify::watchdog_interval() == std::chrono::seconds(30));
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid() + 1));  // meant for another process
    CHECK_FALSE(notify::watchdog_interval().has_value());
  }
}
#else
TEST_CASE("notify: built without libsystemd, every call is a no-op and there is no watchdog", "[supervisor]") {
  ScopedEnv usec("WATCHDOG_USEC", "30000000");
  ScopedEnv pid("WATCHDOG_PID", std::to_string(getpid()));
  notify::ready();
  notify::status("x");
  CHECK_FALSE(notify::watchdog_interval().has_value());
}
#endif

TEST_CASE("logging: journald priority prefixes when JOURNAL_STREAM is set", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  KeepDefaultLogger keep;
  StderrCapture capture(tmp / "stderr");
  bs::supervisor::init_logging("info", bs::platform::map_env({{"JOURNAL_STREAM", "8:12345"}}));
  spdlog::warn("careful: {}", 1);
  spdlog::info("hello");
  spdlog::debug("not shown at info");
  spdlog::error("first line\nsecond line");
  bs::supervisor::set_log_level("debug");
  spdlog::debug("shown at debug");
  std::string text = capture.finish();
  // A newline inside a message is escaped: one message, one journal entry, no forged lines.
  CHECK(text == "<4>careful: 1\n<6>hello\n<3>first line\\nsecond line\n<7>shown at debug\n");
}

TEST_CASE("logging: control characters from file names are escaped, in both formats", "[supervisor]") {
  CHECK(bs::supervisor::escape_control_characters("a\x1b[31mb\x07" "c\td\re\x7f\xc3\xa9") ==
        "a\\x1b[31mb\\x07c\\td\\re\\x7f\xc3\xa9");
  bs::cli_test::TempDir tmp;
  KeepDefaultLogger keep;
  {
    StderrCapture capture(tmp / "journal");
    bs::supervisor::init_logging("info", bs::platform::map_env({{"JOURNAL_STREAM", "8:12345"}}));
    spdlog::warn("spec {}: bad", "/s/\x1b]0;owned\x07x.toml");
    CHECK(capture.finish() == "<4>spec /s/\\x1b]0;owned\\x07x.toml: bad\n");
  }
  {
    StderrCapture capture(tmp / "by-hand");
    bs::supervisor::init_logging("info", bs::platform::map_env({}));
    spdlog::warn("spec {}: bad", "/s/\x1b[2Jx\nFAKE error line.toml");
    std::string text = capture.finish();
    INFO(text);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(std::regex_match(text, std::regex(R"(\S+ warning spec /s/\\x1b\[2Jx\\nFAKE error line\.toml: bad\n)")));
  }
}

TEST_CASE("logging: audit events by hand - kills at warning, errors left to the failing step", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  KeepDefaultLogger keep;
  StderrCapture capture(tmp / "stderr");
  bs::supervisor::init_logging("info", bs::platform::map_env({}));
  bs::supervisor::log_event({"agent-1", "bottle-agent-1", "drift-killed", "pid 42: booted with any"});
  bs::supervisor::log_event({"agent-1", "bottle-agent-1", "verified", "127.0.0.16/32"});
  bs::supervisor::log_event({"agent-1", "bottle-agent-1", "error", "create failed"});
  bs::supervisor::log_event({"agent-1", "", "lease-acquired", "127.0.0.16"});
  std::string text = capture.finish();
  INFO(text);
  CHECK(std::regex_search(text, std::regex(R"(Z warning bottle agent-1: drift-killed bottle-agent-1 pid 42: booted with any\n)")));
  CHECK(std::regex_search(text, std::regex(R"(Z info bottle agent-1: verified bottle-agent-1 127\.0\.0\.16/32\n)")));
  CHECK(std::regex_search(text, std::regex(R"(Z info bottle agent-1: lease-acquired 127\.0\.0\.16\n)")));
  CHECK(text.find("create failed") == std::string::npos);
}

TEST_CASE("logging: a UTC timestamp and the level when run by hand", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  KeepDefaultLogger keep;
  StderrCapture capture(tmp / "stderr");
  bs::supervisor::init_logging("warn", bs::platform::map_env({}));
  spdlog::info("not shown at warn");
  spdlog::warn("careful");
  std::string text = capture.finish();
  INFO(text);
  CHECK(std::regex_match(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warning careful\n)")));
}
