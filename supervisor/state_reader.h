// The CLI's read-only view of the supervisor's state DB (`events`, `leases`): opened without
// creating or migrating anything, waiting out the daemon's write lock for a moment.
#pragma once

#include <chrono>
#include <string>

#include "reconcile/expected.h"
#include "store/state_store.h"

namespace bs::supervisor {

inline constexpr std::chrono::milliseconds kStateBusyPatience{3000};

bs::Expected<store::StateStore, store::StoreError> open_state_read_only(const std::string& state_dir);

}  // namespace bs::supervisor
