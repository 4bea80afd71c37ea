#include "supervisor/preflight_checks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <uv.h>

#include "platform/kvm.h"
#include "platform/loopback.h"
#include "platform/process.h"
#include "reconcile/spec_set.h"
#include "smolvm/cli.h"
#include "smolvm/vm_table.h"
#include "supervisor/child_process.h"
#include "supervisor/spec_folder.h"

namespace bs::supervisor {
namespace {

using Level = Check::Level;

Check ok(std::string message) { return Check{Level::Ok, std::move(message), {}}; }
Check warn(std::string message, std::vector<std::string> hints = {}) {
  return Check{Level::Warn, std::move(message), std::move(hints)};
}
Check fail(std::string message, std::vector<std::string> hints = {}) {
  return Check{Level::Fail, std::move(message), std::move(hints)};
}

std::string mode_text(mode_t mode) {
  return std::to_string((mode >> 6) & 7) + std::to_string((mode >> 3) & 7) + std::to_string(mode & 7);
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A folder that does not exist yet can be made if its nearest existing ancestor is writable.
bool creatable(const std::string& dir) {
  std::string p = dir;
  struct stat st{};
  while (stat(p.c_str(), &st) != 0) {
    if (errno != ENOENT || p == "/" || p == ".") return false;
    p = parent_of(p);
  }
  return S_ISDIR(st.st_mode) && access(p.c_str(), W_OK | X_OK) == 0;
}

// `<bin> --version` through the daemon's own child runner, on a private loop.
CommandResult run_version(const Settings& settings, const std::string& bin, std::chrono::milliseconds timeout) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  CommandResult result;
  result.spawn_error = "did not run";
  {
    CommandRunner runner(&loop);
    std::map<std::string, std::string> env;
    if (!settings.smolvm.data_root.empty()) env["SMOLVM_DATA_DIR"] = settings.smolvm.data_root;
    runner.run(smolvm::version_argv(bin), env, timeout, [&](CommandResult r) { result = std::move(r); },
               smolvm::withheld_from_smolvm);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // let the closed handles go
  uv_loop_close(&loop);
  return result;
}

std::string first_line(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

}  // namespace

std::string find_executable(const std::string& name, const platform::EnvLookup& env) {
  auto runnable = [](const std::string& p) {
    struct stat st{};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return runnable(name) ? name : std::string();
  std::string path = env("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t colon = path.find(':', start);
    std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (runnable(candidate)) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return {};
}

Check check_kvm_device() {
  auto k = platform::check_kvm();
  switch (k.state) {
    case platform::KvmState::Ok: return ok("/dev/kvm is present and read-writable");
    case platform::KvmState::NotApplicable: return ok("KVM is not used on this OS");
    case platform::KvmState::Missing:
    case platform::KvmState::NoAccess: break;
  }
  return fail(k.message, k.hint.empty() ? std::vector<std::string>{} : std::vector<std::string>{k.hint});
}

Check check_smolvm_binary(const Settings& settings, std::chrono::milliseconds timeout) {
  const std::string& bin = settings.smolvm_bin;
  std::string found = find_executable(bin, settings.env);
  if (found.empty()) {
    bool bare = bin.find('/') == std::string::npos;
    return fail(bare ? "smolvm ('" + bin + "') is not on PATH" : "smolvm is not an executable file: " + bin,
                {"install smolvm, or point at it with --smolvm PATH (config: smolvm.bin)"});
  }
  CommandResult r = run_version(settings, found, timeout);
  if (!r.spawn_error.empty()) return fail("cannot run " + found + ": " + r.spawn_error);
  if (r.timed_out) {
    return fail(found + " --version did not finish within " + std::to_string(timeout.count() / 1000) + " s");
  }
  if (r.exit_code != 0) {
    std::string why = first_line(r.err.empty() ? r.out : r.err);
    return fail(found + " --version failed (exit " + std::to_string(r.exit_code) + (why.empty() ? ")" : "): " + why));
  }
  auto version = smolvm::parse_version(r.out);
  if (!version) {
    return warn(found + " --version printed no version ('" + first_line(r.out) + "')",
                {"is this smolvm? the supervisor expects 'smolvm X.Y.Z'"});
  }
  if (!smolvm::version_at_least(*version, 1, 8, 0)) {
    return warn("smolvm " + *version + " (" + found + ") is older than 1.8.0",
                {"--allow-cidr is dropped with --from before 1.8.0; the supervisor patches the row anyway"});
  }
  if (!smolvm::version_supported(*version)) {
    return warn("smolvm " + *version + " (" + found + ") is not a version the supervisor was checked against",
                {"checked against smolvm " + std::string(smolvm::kCheckedSmolvmVersion) +
                 " (1.32.x supported): where a VM's booted policy is recorded, how a VM's command line "
                 "looks and what the row says may differ; see the README's smolvm facts"});
  }
  return ok("smolvm " + *version + " (" + found + ")");
}

Check check_smolvm_db(const Settings& settings) {
  const std::string& db = settings.smolvm.db;
  auto table = smolvm::VmTable::open(db);
  if (!table) {
    using Kind = smolvm::DbError::Kind;
    switch (table.error().kind) {
      case Kind::Missing:
        return warn("smolvm has not run yet (no DB at " + db + ")",
                    {"smolvm creates it on its first command; the supervisor waits for it and never creates it"});
      case Kind::NoVmsTable: return warn("smolvm's DB " + db + " has no vms table yet");
      case Kind::Busy: return warn("smolvm's DB " + db + " is busy: " + table.error().message);
      case Kind::Replaced:
      case Kind::Other: break;
    }
    return fail(table.error().message);
  }
  auto rows = table->read_all();
  if (!rows) return warn("smolvm's DB " + db + " cannot be read now: " + rows.error().message);
  std::size_t unreadable = 0;
  for (const auto& r : *rows) unreadable += r.problem != smolvm::MachineRow::Problem::None ? 1 : 0;
  std::string summary = "smolvm DB " + db + " (" + std::to_string(rows->size()) +
                        (rows->size() == 1 ? " machine)" : " machines)");
  if (unreadable > 0) {
    return warn(summary + ", " + std::to_string(unreadable) + " with a record smolvm cannot read",
                {"such machines are never patched or started by the supervisor"});
  }
  return ok(summary);
}

Check check_spec_folder(const Settings& settings) {
  const std::string& dir = settings.specs_dir;
  struct stat st{};
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && creatable(dir)) return ok("spec folder " + dir + " will be created (mode 0700)");
    return fail("spec folder " + dir + " cannot be created: " + std::strerror(errno == ENOENT ? EACCES : errno),
                {"choose another folder with --specs DIR (config: specs)"});
  }
  if (!S_ISDIR(st.st_mode)) return fail("spec folder " + dir + " is not a directory");
  if (st.st_uid != geteuid()) {
    return fail("spec folder " + dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by you",
                {"the spec folder is a trust boundary: use a folder you own (--specs DIR)"});
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fail("spec folder " + dir + " is writable by group or others (mode " + mode_text(st.st_mode) + ")",
                {"chmod go-w " + dir});
  }
  auto scan = scan_spec_folder(dir);
  if (!scan.readable) return fail(scan.problem);
  auto entries = resolve_specs(std::move(scan.files), settings.config.pool);
  std::vector<std::string> errors;
  for (const auto& e : entries) {
    if (e.error) errors.push_back(first_line(*e.error));
  }
  std::string summary = "spec folder " + dir + " (" + std::to_string(entries.size()) +
                        (entries.size() == 1 ? " spec" : " specs");
  if (errors.empty()) return ok(summary + ")");
  std::vector<std::string> hints = {errors.front()};
  if (errors.size() > 1) hints.push_back("... and " + std::to_string(errors.size() - 1) + " more");
  hints.push_back("see them all with: bottle-supervisor validate " + dir + "/*.toml");
  return warn(summary + ", " + std::to_string(errors.size()) + " in error)", hints);
}

Check check_state_folder(const Settings& settings) {
  const std::string& dir = settings.state_dir;
  struct stat st{};
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT && creatable(dir)) return ok("state folder " + dir + " will be created (mode 0700)");
    return fail("state folder " + dir + " cannot be created", {"choose another with --state-dir DIR (config: state_dir)"});
  }
  if (!S_ISDIR(st.st_mode)) return fail("state folder " + dir + " is not a directory");
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return fail("state folder " + dir + " is not writable: " + std::strerror(errno),
                {"choose another with --state-dir DIR (config: state_dir)"});
  }
  return ok("state folder " + dir + " is writable");
}

Check check_other_smolvm_managers() {
  std::vector<std::string> found;
  for (const char* needle : {"smolvm serve", "machine monitor"}) {
    for (const auto& p : platform::processes_with_cmdline_containing(needle)) {
      if (p.pid == static_cast<std::int64_t>(getpid())) continue;
      std::string cmd = p.cmdline.size() > 60 ? p.cmdline.substr(0, 59) + "…" : p.cmdline;
      found.push_back("pid " + std::to_string(p.pid) + ": " + cmd);
    }
  }
  if (found.empty()) return ok("no other 'smolvm serve' or 'smolvm machine monitor' running");
  std::vector<std::string> hints = {"they restart and delete machines behind the supervisor's back; stop them"};
  hints.insert(hints.end(), found.begin(), found.end());
  return warn(std::to_string(found.size()) + " other smolvm manager process" + (found.size() == 1 ? "" : "es") +
                  " running",
              hints);
}

Check check_loopback_pool(const Settings& settings) {
  const Ipv4Pool& pool = settings.config.pool;
  auto missing = platform::missing_loopback_aliases(pool.network.value, pool.size());
  if (missing.empty()) return ok("loopback pool " + pool.str() + " is usable");
  std::vector<std::string> hints;
  constexpr std::size_t kShown = 16;
  for (std::size_t i = 0; i < missing.size() && i < kShown; ++i) {
    hints.push_back("sudo ifconfig lo0 alias " + Ipv4{missing[i]}.str() + " up");
  }
  if (missing.size() > kShown) hints.push_back("... and " + std::to_string(missing.size() - kShown) + " more");
  return fail(std::to_string(missing.size()) + " address" + (missing.size() == 1 ? "" : "es") + " of the pool " +
                  pool.str() + (missing.size() == 1 ? " is" : " are") + " not aliased on lo0",
              hints);
}

std::vector<Check> run_preflight_checks(const Settings& settings) {
  return {check_kvm_device(),   check_smolvm_binary(settings), check_smolvm_db(settings),
          check_spec_folder(settings), check_state_folder(settings), check_other_smolvm_managers(),
          check_loopback_pool(settings)};
}

}  // namespace bs::supervisor
