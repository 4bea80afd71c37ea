// The host checks behind `preflight`: each one a verdict, a message and hints, so the command
// only prints them (and tests can look at them).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "supervisor/settings.h"

namespace bs::supervisor {

struct Check {
  enum class Level { Ok, Warn, Fail };  // Fail = the supervisor cannot do its job here
  Level level = Level::Ok;
  std::string message;
  std::vector<std::string> hints;  // one fix per line (e.g. one sudo command per address)
};

Check check_kvm_device();
// Finds the binary (PATH search for a bare name) and runs `<bin> --version` with a timeout.
Check check_smolvm_binary(const Settings& settings, std::chrono::milliseconds timeout = std::chrono::seconds(5));
Check check_smolvm_db(const Settings& settings);
Check check_spec_folder(const Settings& settings);
Check check_state_folder(const Settings& settings);
Check check_other_smolvm_managers();
Check check_loopback_pool(const Settings& settings);

std::vector<Check> run_preflight_checks(const Settings& settings);

// A bare name searched on PATH (from env); a name with '/' as given. Empty when not found.
std::string find_executable(const std::string& name, const platform::EnvLookup& env);

}  // namespace bs::supervisor
