#include "platform/xdg.h"

#include <pwd.h>
#include <unistd.h>

namespace bs::platform {
namespace {

std::optional<std::string> absolute_var(const EnvLookup& env, const char* name) {
  auto v = env(name);
  if (v && !v->empty() && (*v)[0] == '/') return v;
  return std::nullopt;
}

std::string xdg_or(const EnvLookup& env, const char* name, const char* fallback) {
  if (auto v = absolute_var(env, name)) return *v;
  return home_dir(env) + "/" + fallback;
}

}  // namespace

std::string home_dir(const EnvLookup& env) {
  if (auto h = env("HOME"); h && !h->empty()) return *h;
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return {};
}

std::string config_home(const EnvLookup& env) { return xdg_or(env, "XDG_CONFIG_HOME", ".config"); }
std::string state_home(const EnvLookup& env) { return xdg_or(env, "XDG_STATE_HOME", ".local/state"); }
std::string data_home(const EnvLookup& env) { return xdg_or(env, "XDG_DATA_HOME", ".local/share"); }
std::string cache_home(const EnvLookup& env) { return xdg_or(env, "XDG_CACHE_HOME", ".cache"); }

std::optional<std::string> runtime_dir(const EnvLookup& env) {
  return absolute_var(env, "XDG_RUNTIME_DIR");
}

std::string expand_tilde(const std::string& path, const EnvLookup& env) {
  if (path == "~") return home_dir(env);
  if (path.rfind("~/", 0) == 0) return home_dir(env) + path.substr(1);
  return path;
}

}  // namespace bs::platform
