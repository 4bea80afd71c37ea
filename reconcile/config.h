// The optional config file (CONTRACT.md §4): every key optional, every value checked.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"
#include "reconcile/guard.h"

namespace bs {

struct Config {
  // Paths as written: absolute, or "~" / "~/..." which the caller expands (platform::expand_tilde).
  // A relative path is refused: relative to what would depend on how the daemon was started.
  std::optional<std::string> specs, state_dir, socket;
  std::string log_level = "info";  // trace|debug|info|warn|error
  std::chrono::milliseconds resync_interval{30000}, debounce{50}, removal_grace{2000};
  // A bare command name (searched on PATH), an absolute path, or "~/..." (expanded by the caller).
  std::string smolvm_bin = "smolvm";
  std::optional<std::string> smolvm_data_dir;  // absolute or "~/..."; passed as SMOLVM_DATA_DIR
  std::chrono::milliseconds command_timeout{120000};
  Ipv4Pool pool = {Ipv4{0x7f000010}, 28};  // 127.0.0.16/28
  std::optional<std::string> lock;         // loopback.lock; absolute or "~/..."
  std::chrono::milliseconds backoff_initial{1000}, backoff_max{300000};
  // Run on each drift kill (argv, no shell); empty = none. argv[0] is a command name on PATH or
  // an absolute path; no argument is empty or holds a control character.
  std::vector<std::string> on_drift_kill;
  // [[guard]] tables, in file order: machines no spec manages that the supervisor judges.
  std::vector<GuardRule> guards;
  bool operator==(const Config&) const = default;
};

// Allowed ranges (inclusive), so the daemon never spins (a zero resync or backoff) nor waits
// for ever: resync_interval 1s..24h, debounce 0ms..10s, removal_grace 0s..1h,
// smolvm.command_timeout 1s..24h, backoff.initial 100ms..1h, backoff.max 1s..24h and
// backoff.initial <= backoff.max.
//
// Parses the config file's text; path is only used in messages. Empty text = all defaults.
// The error is one line, "path:line:col: key 'smolvm.command_timeout': \"12x\" is not a duration
// (use ms, s, m, h, e.g. \"120s\")": the first problem in file order, followed by
// " (and N more problems)" when there are several. Unknown keys and wrong types are errors.
Expected<Config, std::string> parse_config(const std::string& path, std::string_view text);

}  // namespace bs
