#include "bench/common/sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "bench/common/control.h"
#include "bench/common/wait.h"
#include "platform/process.h"
#include "support/files.h"
#include "support/poll.h"
#include "support/spawn.h"
#include "support/vm_cleanup.h"

namespace bs::bench {
namespace {

// A failure of a support helper (they throw) as this file's error string.
template <class F>
std::optional<std::string> error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace

bool reap(pid_t pid, int timeout_ms) {
  bool reaped = false;
  bs::test::poll_until([&] {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return reaped = true;
    // Not (or no longer) our child: it is someone else's to reap, or already reaped.
    if (r < 0 && errno == ECHILD) return reaped = !platform::process_alive(pid);
    return false;
  }, std::chrono::milliseconds(timeout_ms), {std::chrono::microseconds(200), std::chrono::milliseconds(2)});
  return reaped;
}

void reap_exited_children() {
  int st = 0;
  while (::waitpid(-1, &st, WNOHANG) > 0) {
  }
}

Sandbox::Sandbox(std::string bin_dir, bool keep)
    : bin_dir_(std::move(bin_dir)), home_("bs-bench", "/tmp"), keep_(keep) {
  paths_ = smolvm::derive_paths(platform::map_env({{"HOME", home()}}));
  if (keep_) home_.keep();
}

bs::Expected<std::unique_ptr<Sandbox>, std::string> Sandbox::create(const std::string& bin_dir,
                                                                    const std::string& config_toml, bool keep) {
  for (const char* tool : {"bottle-supervisor", "smolvm-sim"}) {
    std::string p = bin_dir + "/" + tool;
    if (::access(p.c_str(), X_OK) != 0) return bs::unexpected("no executable " + p + " (build first, or --bin-dir)");
  }
  std::unique_ptr<Sandbox> sb;
  if (auto err = error_of([&] { sb.reset(new Sandbox(std::filesystem::absolute(bin_dir).string(), keep)); })) {
    return bs::unexpected(*err);
  }
  const std::string& h = sb->home();
  std::error_code ec;
  for (const std::string& d : {h + "/run", h + "/bin", h + "/.config/bottle-supervisor/bottles"}) {
    std::filesystem::create_directories(d, ec);
    if (ec) return bs::unexpected("cannot create " + d + ": " + ec.message());
  }
  for (const std::string& d : {h + "/run", h + "/.config/bottle-supervisor", h + "/.config/bottle-supervisor/bottles"}) {
    ::chmod(d.c_str(), 0700);
  }
  std::filesystem::create_symlink(sb->bin_dir_ + "/smolvm-sim", h + "/bin/smolvm", ec);
  if (ec) return bs::unexpected("cannot link smolvm -> smolvm-sim: " + ec.message());
  if (auto err = error_of([&] { bs::test::write_file(h + "/.config/bottle-supervisor/config.toml", config_toml); })) {
    return bs::unexpected(*err);
  }
  return sb;
}

Sandbox::~Sandbox() {
  if (auto err = stop_daemon()) std::fprintf(stderr, "bench: %s\n", err->c_str());
  kill_vms();
  reap_exited_children();
  if (keep_) std::fprintf(stderr, "bench: kept %s (daemon log: %s)\n", home().c_str(), daemon_log().c_str());
}

bs::test::Env Sandbox::environment(const std::vector<std::string>& extra) const {
  bs::test::Env env = {{"HOME", home()}, {"XDG_RUNTIME_DIR", home() + "/run"},
                       {"PATH", home() + "/bin:/usr/local/bin:/usr/bin:/bin"}};
  for (const std::string& kv : extra) {
    const auto eq = kv.find('=');
    env[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return env;
}

std::optional<std::string> Sandbox::write_spec(const std::string& name, const std::string& text) {
  return error_of([&] { bs::test::write_file_atomic(specs_dir() + "/" + name + ".toml", text); });
}

bs::Expected<Sandbox::Child, std::string> Sandbox::spawn(const std::vector<std::string>& argv,
                                                         const std::vector<std::string>& extra_env,
                                                         bool capture_stdout, const std::string& stderr_path) {
  int out[2] = {-1, -1};
  if (capture_stdout && ::pipe2(out, O_CLOEXEC) != 0) return bs::unexpected(std::string("pipe: ") + std::strerror(errno));
  bs::test::SpawnPlan plan;
  plan.open(0, "/dev/null", O_RDONLY);
  if (capture_stdout) {
    plan.dup(out[1], 1);
  } else {
    plan.open(1, "/dev/null", O_WRONLY);
  }
  plan.open(2, stderr_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  // Resolve argv[0] on the sandbox PATH ourselves: posix_spawnp would search OUR PATH.
  std::vector<std::string> args = argv;
  if (args.at(0).find('/') == std::string::npos) {
    for (const std::string& dir : {home() + "/bin", bin_dir_, std::string("/usr/bin"), std::string("/bin")}) {
      if (::access((dir + "/" + args[0]).c_str(), X_OK) == 0) {
        args[0] = dir + "/" + args[0];
        break;
      }
    }
  }
  pid_t pid = -1;
  auto err = error_of([&] { pid = bs::test::spawn(args, environment(extra_env), plan); });
  if (capture_stdout) ::close(out[1]);
  if (err) {
    if (capture_stdout) ::close(out[0]);
    return bs::unexpected("cannot start " + args[0] + ": " + *err);
  }
  return Child{pid, capture_stdout ? out[0] : -1};
}

std::optional<std::string> Sandbox::start_daemon(const std::vector<std::string>& extra_env) {
  if (daemon_ > 0) return "the daemon is already running";
  auto child = spawn({bin_dir_ + "/bottle-supervisor", "run"}, extra_env, false, daemon_log());
  if (!child) return child.error();
  daemon_ = child->pid;
  bool up = wait_until(
      [&] {
        int st = 0;
        if (::waitpid(daemon_, &st, WNOHANG) == daemon_) {
          daemon_ = -1;
          return true;
        }
        return static_cast<bool>(status(socket_path(), {}, std::chrono::seconds(5)));
      },
      std::chrono::seconds(30), std::chrono::milliseconds(5));
  if (daemon_ < 0) return "bottle-supervisor run exited at once; see " + daemon_log();
  if (!up) return "bottle-supervisor run did not answer on " + socket_path() + " within 30 s";
  return std::nullopt;
}

std::optional<std::string> Sandbox::stop_daemon() {
  if (daemon_ <= 0) return std::nullopt;
  const pid_t pid = daemon_;
  daemon_ = -1;
  ::kill(pid, SIGTERM);  // our own child: a pid we started
  int st = 0;
  bool gone = wait_until([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, std::chrono::seconds(60),
                         std::chrono::milliseconds(1));
  if (!gone) {
    ::kill(pid, SIGKILL);
    reap(pid, 5000);
    return "bottle-supervisor (pid " + std::to_string(pid) + ") ignored SIGTERM for 60 s; killed";
  }
  // A clean stop exits 0; anything else (a sanitizer report, a crash) must not go unnoticed.
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    return "bottle-supervisor (pid " + std::to_string(pid) + ") did not exit cleanly (wait status " +
           std::to_string(st) + "); see " + daemon_log();
  }
  return std::nullopt;
}

void Sandbox::kill_vms() {
  try {
    bs::test::kill_row_vms(paths_.db);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench: cannot read the VMs' rows: %s\n", e.what());
  }
  bs::test::kill_boot_vms_under(home());
}

std::unique_ptr<Sandbox> start_sandbox(const Options& opt, const std::string& config_toml, const Specs& specs,
                                       const std::vector<std::string>& daemon_env) {
  auto made = Sandbox::create(opt.bin_dir, config_toml, opt.keep);
  if (!made) {
    std::fprintf(stderr, "error: %s\n", made.error().c_str());
    return nullptr;
  }
  std::unique_ptr<Sandbox> sb = std::move(*made);
  for (const auto& [name, text] : specs) {
    if (auto err = sb->write_spec(name, text)) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      return nullptr;
    }
  }
  if (auto err = sb->start_daemon(daemon_env)) {
    std::fprintf(stderr, "error: %s\n", err->c_str());
    return nullptr;
  }
  if (opt.verbose) std::printf("  daemon pid %d, HOME %s\n", sb->daemon_pid(), sb->home().c_str());
  return sb;
}

}  // namespace bs::bench
