// A throwaway HOME in which the real binaries run exactly as a user would run them: only HOME,
// XDG_RUNTIME_DIR and PATH (with `smolvm` a symlink to smolvm-sim) in the environment, knobs in
// $HOME/.config/bottle-supervisor/config.toml. It owns every process it starts, and on
// destruction stops the daemon, kills the VMs that are provably ours, reaps, and removes HOME.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/common/run_control.h"
#include "reconcile/expected.h"
#include "smolvm/paths.h"
#include "support/spawn.h"
#include "support/temp_dir.h"

namespace bs::bench {

class Sandbox {
 public:
  static bs::Expected<std::unique_ptr<Sandbox>, std::string> create(const std::string& bin_dir,
                                                                    const std::string& config_toml, bool keep);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& home() const { return home_.path(); }
  const smolvm::Paths& smolvm() const { return paths_; }
  std::string specs_dir() const { return home() + "/.config/bottle-supervisor/bottles"; }
  std::string socket_path() const { return home() + "/run/bottle-supervisor/control.sock"; }
  std::string state_db() const { return home() + "/.local/state/bottle-supervisor/state.db"; }
  std::string daemon_log() const { return home() + "/supervisor.log"; }

  // <specs>/<name>.toml, written as a dot-file (which the daemon ignores) and renamed into place,
  // mode 0600, so the daemon never sees half a spec.
  std::optional<std::string> write_spec(const std::string& name, const std::string& text);

  struct Child {
    pid_t pid = -1;
    int stdout_fd = -1;  // the read end of its stdout when captured, else -1
  };
  // Starts argv (argv[0] searched on the sandbox PATH) with the sandbox environment plus
  // `extra_env` ("K=V"); stdin is /dev/null, stderr goes to `stderr_path`.
  bs::Expected<Child, std::string> spawn(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& extra_env, bool capture_stdout,
                                         const std::string& stderr_path = "/dev/null");

  // `bottle-supervisor run`, waited for until its control socket answers.
  std::optional<std::string> start_daemon(const std::vector<std::string>& extra_env = {});
  pid_t daemon_pid() const { return daemon_; }
  // SIGTERM (VMs keep running, by design) and wait for it to exit.
  std::optional<std::string> stop_daemon();

  // Kills and reaps every VM that is ours: a row's pid that still has the row's start time, and
  // any `_boot-vm` child of ours whose boot config lies under HOME.
  void kill_vms();

 private:
  Sandbox(std::string bin_dir, bool keep);
  bs::test::Env environment(const std::vector<std::string>& extra) const;

  std::string bin_dir_;
  bs::test::TempDir home_;
  bool keep_;
  smolvm::Paths paths_;
  pid_t daemon_ = -1;
};

// A benchmark's sandbox: made with `config_toml`, `specs` (name, TOML) written, then the daemon
// started (with `daemon_env` added) and answering. On a failure it prints the error and
// returns null.
using Specs = std::vector<std::pair<std::string, std::string>>;
std::unique_ptr<Sandbox> start_sandbox(const Options& opt, const std::string& config_toml, const Specs& specs = {},
                                       const std::vector<std::string>& daemon_env = {});

// Waits for our child `pid` to exit and reaps it (true), or gives up after `timeout_ms`.
bool reap(pid_t pid, int timeout_ms);
// Reaps every child that has already exited (orphans handed to us as subreaper).
void reap_exited_children();

}  // namespace bs::bench
