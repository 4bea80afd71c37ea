#include "supervisor/settings.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "platform/file_text.h"
#include "platform/xdg.h"
#include "supervisor/preflight_checks.h"

namespace bs::supervisor {
namespace {

std::string current_dir() {
  std::string buf(4096, '\0');
  while (getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE) return {};
    buf.resize(buf.size() * 2);
  }
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

// A flag's path: "~" expanded (the shell does not expand "--specs=~/x"), then made absolute
// against the working directory, so the daemon's paths never depend on where it later runs.
std::string flag_path(const std::string& value, const platform::EnvLookup& env) {
  std::string p = platform::expand_tilde(value, env);
  if (!p.empty() && p[0] != '/') {
    std::string cwd = current_dir();
    p = (cwd == "/" ? "" : cwd) + "/" + (p.rfind("./", 0) == 0 ? p.substr(2) : p);
  }
  return p;
}

// The smolvm binary: a bare name is looked up on PATH later, anything with a '/' is a path.
std::string tool_path(const std::string& value, const platform::EnvLookup& env, bool from_flag) {
  std::string p = platform::expand_tilde(value, env);
  if (p.find('/') == std::string::npos) return p;
  return from_flag ? flag_path(p, env) : p;
}

// A VM process's argv[0] may also be the smolvm binary itself (smolvm on macOS spawns its own
// path): as configured, as found on PATH, and with links resolved.
void add_vm_argv0(smolvm::Paths& paths, const std::string& bin, const platform::EnvLookup& env) {
  auto add = [&](const std::string& p) {
    if (!p.empty() && std::find(paths.vm_argv0.begin(), paths.vm_argv0.end(), p) == paths.vm_argv0.end()) {
      paths.vm_argv0.push_back(p);
    }
  };
  add(bin);
  const std::string found = find_executable(bin, env);
  add(found);
  std::error_code ec;
  if (!found.empty()) {
    auto real = std::filesystem::canonical(found, ec);
    if (!ec) add(real.string());
  }
}

// As a spec's bound (spec_folder.cpp): a config is a few hundred bytes, and reading a huge file
// blocks the loop on SIGHUP.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

enum class ReadResult { Ok, Missing, Failed };

ReadResult read_text(const std::string& path, std::string& text, std::string& error) {
  auto read = platform::read_regular_file(path, kMaxConfigBytes);
  if (read) {
    text = std::move(read->text);
    return ReadResult::Ok;
  }
  if (read.error().error == ENOENT || read.error().error == ENOTDIR) return ReadResult::Missing;
  error = "the config file " + read.error().message;
  return ReadResult::Failed;
}

bs::Expected<Settings, std::string> resolve(const CommonFlags& flags, const platform::EnvLookup& env,
                                            const std::string& config_path) {
  Settings s;
  s.env = env;
  s.config_path = config_path;

  std::string text, error;
  switch (read_text(config_path, text, error)) {
    case ReadResult::Missing:
      if (flags.config) return bs::unexpected("config file " + config_path + " does not exist");
      break;
    case ReadResult::Failed:
      return bs::unexpected(error);
    case ReadResult::Ok: {
      auto parsed = parse_config(config_path, text);
      if (!parsed) return bs::unexpected(parsed.error());
      s.config = *parsed;
      s.config_found = true;
      break;
    }
  }
  const Config& c = s.config;

  if (flags.specs) s.specs_dir = flag_path(*flags.specs, env);
  else if (c.specs) s.specs_dir = platform::expand_tilde(*c.specs, env);
  else s.specs_dir = platform::config_home(env) + "/bottle-supervisor/bottles";

  if (flags.state_dir) s.state_dir = flag_path(*flags.state_dir, env);
  else if (c.state_dir) s.state_dir = platform::expand_tilde(*c.state_dir, env);
  else s.state_dir = platform::state_home(env) + "/bottle-supervisor";

  if (flags.socket) s.socket_path = flag_path(*flags.socket, env);
  else if (c.socket) s.socket_path = platform::expand_tilde(*c.socket, env);
  else if (auto runtime = platform::runtime_dir(env)) s.socket_path = *runtime + "/bottle-supervisor/control.sock";
  else s.socket_path = s.state_dir + "/control.sock";

  s.smolvm_bin = flags.smolvm ? tool_path(*flags.smolvm, env, true) : tool_path(c.smolvm_bin, env, false);

  std::optional<std::string> data_dir;
  if (flags.smolvm_data_dir) data_dir = flag_path(*flags.smolvm_data_dir, env);
  else if (c.smolvm_data_dir) data_dir = platform::expand_tilde(*c.smolvm_data_dir, env);
  s.smolvm = smolvm::derive_paths(env, data_dir);
  add_vm_argv0(s.smolvm, s.smolvm_bin, env);

  // bot-bottle computes its lock from HOME alone, so we must too, whatever XDG_CACHE_HOME says.
  s.lock_path = c.lock ? platform::expand_tilde(*c.lock, env)
                       : platform::home_dir(env) + "/.cache/bot-bottle/smolmachines.lock";
  return s;
}

}  // namespace

bs::Expected<Settings, std::string> resolve_settings(const CommonFlags& flags, const platform::EnvLookup& env) {
  std::string config_path = flags.config ? flag_path(*flags.config, env)
                                         : platform::config_home(env) + "/bottle-supervisor/config.toml";
  return resolve(flags, env, config_path);
}

bs::Expected<Settings, std::string> reload_settings(const Settings& current, const CommonFlags& flags) {
  // The path found at startup, not one recomputed against a working directory that may differ.
  return resolve(flags, current.env, current.config_path);
}

}  // namespace bs::supervisor
