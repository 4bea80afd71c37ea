// `bottle-supervisor run` and `reconcile --once`.
#pragma once

#include "supervisor/settings.h"

namespace bs::supervisor {

enum class RunMode { Daemon, Once };

// Runs the supervisor until SIGTERM/SIGINT (Daemon) or until one full pass is done (Once).
// Returns the process exit code (CONTRACT §7).
int run_daemon(const Settings& settings, const CommonFlags& flags, RunMode mode);

}  // namespace bs::supervisor
