// The human view of the machines no spec manages (the `guarded` section of the status document):
// warnings for the status header (unconfined VMs, guard violations, lease conflicts) and, for
// `status --all`, one row per smolvm machine of any kind. Pure, like status_table.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "supervisor/status_table.h"

namespace bs::supervisor {

// "warning: ..." lines, one per remarkable machine; empty when there is nothing to say.
std::string render_guard_warnings(const nlohmann::json& status, std::size_t width);

// MACHINE KIND STATE PID BOOTED ALLOWLIST VERDICT: the bottles' machines (managed), then every
// machine no spec manages (guarded or unmanaged).
std::string render_machine_table(const nlohmann::json& status, const TableStyle& style);

}  // namespace bs::supervisor
