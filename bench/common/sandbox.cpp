#include "bench/common/sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "bench/common/control.h"
#include "bench/common/wait.h"
#include "platform/identity.h"
#include "platform/process.h"
#include "smolvm/vm_table.h"

extern char** environ;

namespace bs::bench {
namespace {

// Field 4 of /proc/<pid>/stat (after the comm's last ')').
std::optional<pid_t> parent_of(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::string state;
  long ppid = 0;
  if (!(rest >> state >> ppid)) return std::nullopt;
  return static_cast<pid_t>(ppid);
}

std::optional<std::string> write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  ::close(fd);
  return std::nullopt;
}

bool is_alive_or_zombie(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

bool reap(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno == ECHILD) {
      // Not (or no longer) our child: it is someone else's to reap, or already reaped.
      return !platform::process_alive(pid);
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void reap_exited_children() {
  int st = 0;
  while (::waitpid(-1, &st, WNOHANG) > 0) {
  }
}

Sandbox::Sandbox(std::string bin_dir, std::string home, bool keep)
    : bin_dir_(std::move(bin_dir)), home_(std::move(home)), keep_(keep) {
  paths_ = smolvm::derive_paths(platform::map_env({{"HOME", home_}}));
}

bs::Expected<std::unique_ptr<Sandbox>, std::string> Sandbox::create(const std::string& bin_dir,
                                                                    const std::string& config_toml, bool keep) {
  for (const char* tool : {"bottle-supervisor", "smolvm-sim"}) {
    std::string p = bin_dir + "/" + tool;
    if (::access(p.c_str(), X_OK) != 0) return bs::unexpected("no executable " + p + " (build first, or --bin-dir)");
  }
  char tmpl[] = "/tmp/bs-bench.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return bs::unexpected(std::string("mkdtemp: ") + std::strerror(errno));
  std::unique_ptr<Sandbox> sb(new Sandbox(std::filesystem::absolute(bin_dir).string(), tmpl, keep));
  const std::string& h = sb->home_;
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
  if (auto err = write_file(h + "/.config/bottle-supervisor/config.toml", config_toml, 0600)) {
    return bs::unexpected(*err);
  }
  return sb;
}

Sandbox::~Sandbox() {
  if (auto err = stop_daemon()) std::fprintf(stderr, "bench: %s\n", err->c_str());
  kill_vms();
  reap_exited_children();
  if (keep_) {
    std::fprintf(stderr, "bench: kept %s (daemon log: %s)\n", home_.c_str(), daemon_log().c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(home_, ec);
}

std::vector<std::string> Sandbox::environment(const std::vector<std::string>& extra) const {
  std::vector<std::string> env = {"HOME=" + home_, "XDG_RUNTIME_DIR=" + home_ + "/run",
                                  "PATH=" + home_ + "/bin:/usr/local/bin:/usr/bin:/bin"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::optional<std::string> Sandbox::write_spec(const std::string& name, const std::string& text) {
  const std::string tmp = specs_dir() + "/." + name + ".toml.tmp";
  const std::string dst = specs_dir() + "/" + name + ".toml";
  if (auto err = write_file(tmp, text, 0600)) return err;
  if (::rename(tmp.c_str(), dst.c_str()) != 0) return "cannot rename " + tmp + ": " + std::strerror(errno);
  return std::nullopt;
}

bs::Expected<Sandbox::Child, std::string> Sandbox::spawn(const std::vector<std::string>& argv,
                                                         const std::vector<std::string>& extra_env,
                                                         bool capture_stdout, const std::string& stderr_path) {
  std::vector<std::string> env = environment(extra_env);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int out[2] = {-1, -1};
  if (capture_stdout && ::pipe2(out, O_CLOEXEC) != 0) return bs::unexpected(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (capture_stdout) {
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  // Resolve argv[0] on the sandbox PATH ourselves: posix_spawnp would search OUR PATH.
  std::string prog = argv.at(0);
  if (prog.find('/') == std::string::npos) {
    for (const std::string& dir : {home_ + "/bin", bin_dir_, std::string("/usr/bin"), std::string("/bin")}) {
      if (::access((dir + "/" + prog).c_str(), X_OK) == 0) {
        prog = dir + "/" + prog;
        break;
      }
    }
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, prog.c_str(), &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (capture_stdout) ::close(out[1]);
  if (rc != 0) {
    if (capture_stdout) ::close(out[0]);
    return bs::unexpected("cannot start " + prog + ": " + std::strerror(rc));
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

std::size_t Sandbox::kill_vms() {
  std::vector<pid_t> killed;
  // The rows: a pid is a VM of ours only while it still has the start time the row recorded.
  if (auto table = smolvm::VmTable::open(paths_.db)) {
    if (auto rows = table->read_all()) {
      for (const auto& row : *rows) {
        if (!row.record.pid || !row.record.pid_start_time) continue;
        auto r = platform::kill_own_child(*row.record.pid, *row.record.pid_start_time);
        if (r.outcome == platform::KillOutcome::Killed) killed.push_back(static_cast<pid_t>(*row.record.pid));
      }
    }
  }
  // VMs no row names any more (strays): only our own children (we are their subreaper once the
  // daemon is gone) whose command line names a file under our HOME, never a process found by its
  // command line alone.
  for (const auto& p : platform::processes_with_cmdline_containing(home_ + "/")) {
    if (p.cmdline.find("_boot-vm") == std::string::npos || parent_of(p.pid) != ::getpid()) continue;
    auto r = platform::kill_own_child(p.pid, p.start_time);
    if (r.outcome == platform::KillOutcome::Killed) killed.push_back(static_cast<pid_t>(p.pid));
  }
  for (pid_t pid : killed) {
    if (!reap(pid, 5000) && is_alive_or_zombie(pid)) {
      std::fprintf(stderr, "bench: VM pid %d did not go away after SIGKILL\n", pid);
    }
  }
  return killed.size();
}

}  // namespace bs::bench
