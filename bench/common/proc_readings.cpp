#include "bench/common/proc_readings.h"

#include <filesystem>
#include <fstream>

namespace bs::bench {

using bs::test::proc_field;

namespace {

std::vector<std::string> task_dirs(int pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    out.push_back(e.path().string());
  }
  return out;
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
    cs.voluntary += proc_field(t + "/status", "voluntary_ctxt_switches").value_or(0);
    cs.nonvoluntary += proc_field(t + "/status", "nonvoluntary_ctxt_switches").value_or(0);
  }
  return cs;
}

std::optional<std::uint64_t> status_field(int pid, const std::string& name) {
  return proc_field("/proc/" + std::to_string(pid) + "/status", name);
}

}  // namespace bs::bench
