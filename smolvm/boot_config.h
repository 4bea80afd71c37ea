// What a running VM actually booted with. smolvm reads allowed_cidrs once, at start, into
// <vm data dir>/boot-config.json, and its `_boot-vm` process builds the egress policy from that
// file (reference §2.2): the row can say one thing and the VM enforce another.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reconcile/expected.h"
#include "smolvm/record.h"

namespace bs::smolvm {

// `cmdline` as read from /proc/<pid>/cmdline (NUL-separated, maybe a trailing NUL). Returns the
// argument following the first "_boot-vm", if there is a non-empty one.
std::optional<std::string> boot_config_from_cmdline(std::string_view cmdline);

// True if any argument, or the NUL->space joined string (smolvm's cmdline_contains), contains
// `needle`. An empty needle matches nothing: it is used as proof of identity.
bool cmdline_contains(std::string_view cmdline, std::string_view needle);

// Parses boot-config.json text: resources.allowed_cidrs -> AllowedCidrs (missing/null -> Null).
// Error when it is not JSON or has no "resources" object.
bs::Expected<AllowedCidrs, std::string> parse_booted_policy(std::string_view json_text);

// File read + parse; errors name the path. Files over 4 MiB are refused, not read.
bs::Expected<AllowedCidrs, std::string> read_booted_policy(const std::string& boot_config_path);

}  // namespace bs::smolvm
