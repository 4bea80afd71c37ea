// Which files are specs, what the bottle is called, which names smolvm accepts, and how
// diagnostics print.
#include <algorithm>

#include "reconcile/spec.h"

namespace bs {
namespace {

constexpr std::string_view kSpecSuffix = ".toml";

// ^[a-z0-9]+(-[a-z0-9]+)*$
bool dashed_lowercase(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  char prev = '\0';
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-') return false;
    if (c == '-' && prev == '-') return false;
    prev = c;
  }
  return true;
}

}  // namespace

std::string_view to_string(RunState s) { return s == RunState::Running ? "running" : "stopped"; }
std::string_view to_string(OnRemove r) { return r == OnRemove::Delete ? "delete" : "keep"; }

std::string SpecDiag::str() const {
  return file + ':' + std::to_string(line) + ':' + std::to_string(column) + ": " + message;
}

std::string format_diags(const std::vector<SpecDiag>& d) {
  std::string out;
  for (const SpecDiag& x : d) {
    if (!out.empty()) out += '\n';
    out += x.str();
  }
  return out;
}

bool is_spec_file_name(std::string_view file_name) {
  return file_name.size() > kSpecSuffix.size() && file_name.front() != '.' &&
         file_name.find('/') == std::string_view::npos &&
         file_name.substr(file_name.size() - kSpecSuffix.size()) == kSpecSuffix;
}

std::string bottle_name_of(std::string_view file_name) {
  const std::size_t slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  if (file_name.size() >= kSpecSuffix.size() &&
      file_name.substr(file_name.size() - kSpecSuffix.size()) == kSpecSuffix) {
    file_name.remove_suffix(kSpecSuffix.size());
  }
  return std::string(file_name);
}

bool valid_bottle_name(std::string_view name) {
  return name.size() <= kMaxBottleNameLength && dashed_lowercase(name);
}

bool valid_machine_name(std::string_view name) {
  return name.size() <= kMaxMachineNameLength && dashed_lowercase(name);
}

}  // namespace bs
