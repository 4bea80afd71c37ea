// XDG base directories (spec 0.8) and macOS equivalents, derived from an environment.
#pragma once

#include <optional>
#include <string>

#include "platform/env.h"

namespace bs::platform {

enum class Os { Linux, MacOS };

constexpr Os host_os() {
#if defined(__APPLE__)
  return Os::MacOS;
#else
  return Os::Linux;
#endif
}

// $HOME, or the passwd entry's home when unset. Empty only when neither is known.
std::string home_dir(const EnvLookup& env);

// An XDG variable is used only when it is set to an absolute path (spec: relative values are
// invalid and must be ignored); otherwise $HOME/<fallback>.
std::string config_home(const EnvLookup& env);  // $XDG_CONFIG_HOME or ~/.config
std::string state_home(const EnvLookup& env);   // $XDG_STATE_HOME or ~/.local/state
std::string data_home(const EnvLookup& env);    // $XDG_DATA_HOME or ~/.local/share
std::string cache_home(const EnvLookup& env);   // $XDG_CACHE_HOME or ~/.cache
std::optional<std::string> runtime_dir(const EnvLookup& env);  // $XDG_RUNTIME_DIR if absolute

// "~" and "~/x" expanded against home_dir(env); other paths returned unchanged.
std::string expand_tilde(const std::string& path, const EnvLookup& env);

}  // namespace bs::platform
