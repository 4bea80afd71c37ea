// One supervisor per smolvm DB, whatever its state dir: two daemons on one DB (with different
// state folders) each patch rows the other just patched and kill VMs the other started. The lock
// is an flock on a file of our own (never inside smolvm's folders), named after the DB's
// resolved absolute path: <XDG_RUNTIME_DIR>/bottle-supervisor/smolvm-db-<hash>.lock, else
// /tmp/bottle-supervisor-<uid>/smolvm-db-<hash>.lock (a 0700 folder that must be ours).
#pragma once

#include <string>

#include "platform/env.h"
#include "platform/file_lock.h"
#include "reconcile/expected.h"

namespace bs::supervisor {

// The lock file for `db_path` (the path resolved through existing symlinks first, so two
// spellings of one DB share a lock).
std::string smolvm_db_lock_path(const std::string& db_path, const platform::EnvLookup& env);

// Takes it for this process, recording the state dir. Error, when another supervisor holds it:
// "another bottle-supervisor already manages the smolvm DB <db> (pid N, state dir <dir>)".
bs::Expected<platform::InstanceLock, std::string> lock_smolvm_db(const std::string& db_path,
                                                                const std::string& state_dir,
                                                                const platform::EnvLookup& env);

}  // namespace bs::supervisor
