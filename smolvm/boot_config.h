// What a running VM actually booted with. smolvm reads allowed_cidrs once, at start, and hands
// the VMM `<vm data dir>/boot-config.json`; the `_boot-vm` process deletes that file as soon as
// it has read it (smolvm >= 2026-04, checked against 1.32.2), so the record of what the VMM got
// is `<vm data dir>/agent.config.json` (running_vm.h). Both carry `resources.allowed_cidrs`: the
// row can say one thing and the VM enforce another.
#pragma once

#include <cstddef>
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
// `needle`. An empty needle matches nothing. smolvm's own loose check, kept for the simulator
// comparisons; the supervisor's identity rule is the exact platform::ArgvRule.
bool cmdline_contains(std::string_view cmdline, std::string_view needle);

// Parses boot-config.json / agent.config.json text: resources.allowed_cidrs -> AllowedCidrs
// (missing/null -> Null). Error when it is not JSON or has no "resources" object.
bs::Expected<AllowedCidrs, std::string> parse_booted_policy(std::string_view json_text);

// A small file of a VM's data dir: opened non-blocking, regular files only, at most max_bytes.
// Errors name the path; when the open itself failed, its errno goes to *open_errno.
bs::Expected<std::string, std::string> read_vm_file(const std::string& path, std::size_t max_bytes,
                                                    int* open_errno = nullptr);

// File read + parse of a boot-config.json or agent.config.json; errors name the path. Files
// over 4 MiB are refused, not read.
bs::Expected<AllowedCidrs, std::string> read_booted_policy(const std::string& config_path);

}  // namespace bs::smolvm
