#include "bench/common/proc_readings.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bs::bench {
namespace {

std::vector<std::string> task_dirs(int pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    out.push_back(e.path().string());
  }
  return out;
}

// The number after "name:" in a "key: value [unit]" file, or nullopt.
std::optional<std::uint64_t> field_of(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string line;
  const std::string key = name + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream rest(line.substr(key.size()));
    std::uint64_t v = 0;
    if (rest >> v) return v;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> cpu_ns(int pid) {
  auto tasks = task_dirs(pid);
  if (tasks.empty()) return std::nullopt;
  std::uint64_t sum = 0;
  for (const auto& t : tasks) {
    std::ifstream in(t + "/schedstat");
    std::uint64_t on_cpu = 0;
    if (in >> on_cpu) sum += on_cpu;  // a thread that just exited contributes nothing
  }
  return sum;
}

std::optional<ContextSwitches> context_switches(int pid) {
  auto tasks = task_dirs(pid);
  if (tasks.empty()) return std::nullopt;
  ContextSwitches cs;
  for (const auto& t : tasks) {
    cs.voluntary += field_of(t + "/status", "voluntary_ctxt_switches").value_or(0);
    cs.nonvoluntary += field_of(t + "/status", "nonvoluntary_ctxt_switches").value_or(0);
  }
  return cs;
}

std::optional<std::uint64_t> status_field(int pid, const std::string& name) {
  return field_of("/proc/" + std::to_string(pid) + "/status", name);
}

std::optional<std::uint64_t> private_kb(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  auto clean = field_of(path, "Private_Clean");
  auto dirty = field_of(path, "Private_Dirty");
  if (!clean || !dirty) return std::nullopt;
  return *clean + *dirty + field_of(path, "Private_Hugetlb").value_or(0);
}

}  // namespace bs::bench
