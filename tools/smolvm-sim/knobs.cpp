#include "tools/smolvm-sim/knobs.h"

#include <cerrno>
#include <cstdlib>


namespace bs::sim {
namespace {

// A malformed number disables the knob rather than guessing a value.
unsigned parse_unsigned(const std::optional<std::string>& v) {
  if (!v || v->empty()) return 0;
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(v->c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0' || n > 0xffffffffUL) return 0;
  return static_cast<unsigned>(n);
}

std::set<std::string> split_commands(const std::string& list) {
  std::set<std::string> out;
  std::string cur;
  for (char c : list) {
    if (c == ',') {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.insert(cur);
  return out;
}

}  // namespace

Knobs read_knobs(const platform::EnvLookup& env) {
  Knobs k;
  if (auto v = env("SMOLVM_SIM_VERSION"); v && !v->empty()) k.version = *v;
  k.drop_from_cidrs = env("SMOLVM_SIM_DROP_FROM_CIDRS").value_or("") == "1";
  k.force_policy = env("SMOLVM_SIM_FORCE_POLICY");
  k.fail_create = env("SMOLVM_SIM_FAIL_CREATE");
  k.fail_start = env("SMOLVM_SIM_FAIL_START");
  k.hang_secs = parse_unsigned(env("SMOLVM_SIM_HANG_SECS"));
  if (auto v = env("SMOLVM_SIM_HANG_COMMANDS")) k.hang_commands = split_commands(*v);
  k.stop_window_ms = parse_unsigned(env("SMOLVM_SIM_STOP_WINDOW_MS"));
  k.check_kvm = env("SMOLVM_SIM_CHECK_KVM").value_or("") == "1";
  return k;
}

unsigned vm_exit_after_ms(const platform::EnvLookup& env) {
  return parse_unsigned(env("SMOLVM_SIM_VM_EXIT_AFTER_MS"));
}

}  // namespace bs::sim

namespace bs::sim {

unsigned agent_ready_ms(const platform::EnvLookup& env) {
  auto v = env("SMOLVM_SIM_READY_MS");
  if (!v || v->empty()) return kDefaultAgentReadyMs;
  return parse_unsigned(v);
}

}  // namespace bs::sim
