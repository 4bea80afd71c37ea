// Everything a command needs to know, resolved from flags, the config file and the environment
// (CONTRACT §2, §4): flags win over the config file, which wins over the XDG defaults.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "platform/env.h"
#include "reconcile/config.h"
#include "reconcile/expected.h"
#include "smolvm/paths.h"

namespace bs::supervisor {

// Path and tool flags shared by run, status, reconcile, events, preflight.
struct CommonFlags {
  std::optional<std::string> specs, state_dir, socket, config, smolvm, smolvm_data_dir;
};

struct Settings {
  Config config;               // the parsed config file (defaults when absent)
  std::string config_path;     // where it was looked for
  bool config_found = false;
  std::string specs_dir;       // absolute
  std::string state_dir;       // absolute
  std::string socket_path;     // absolute
  std::string smolvm_bin;      // as given (searched on PATH when it has no '/')
  std::string lock_path;       // bot-bottle allocation lock
  smolvm::Paths smolvm;        // DB and VM data dirs
  platform::EnvLookup env;     // the environment the paths came from
};

// Reads the config file (missing = defaults, unless --config named it explicitly) and applies
// flags. Errors name the file, key or flag.
bs::Expected<Settings, std::string> resolve_settings(const CommonFlags& flags,
                                                     const platform::EnvLookup& env);

// Re-reads the config file of `current` (SIGHUP); flags given at startup still win.
bs::Expected<Settings, std::string> reload_settings(const Settings& current, const CommonFlags& flags);

}  // namespace bs::supervisor
