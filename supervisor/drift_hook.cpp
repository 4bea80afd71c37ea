#include "supervisor/drift_hook.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "store/state_store.h"

namespace bs::supervisor {
namespace {

std::string first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.size() > 200 ? line.substr(0, 200) + "..." : line;
}

}  // namespace

std::optional<std::int64_t> pid_of_kill_detail(std::string_view detail) {
  constexpr std::string_view kUnverifiable = "unverifiable: ";
  if (detail.substr(0, kUnverifiable.size()) == kUnverifiable) detail.remove_prefix(kUnverifiable.size());
  constexpr std::string_view kPid = "pid ";
  if (detail.substr(0, kPid.size()) != kPid) return std::nullopt;
  detail.remove_prefix(kPid.size());
  std::int64_t pid = 0;
  std::size_t digits = 0;
  while (digits < detail.size() && digits < 10 && std::isdigit(static_cast<unsigned char>(detail[digits]))) {
    pid = pid * 10 + (detail[digits] - '0');
    ++digits;
  }
  if (digits == 0 || pid <= 0) return std::nullopt;
  if (digits < detail.size() && std::isdigit(static_cast<unsigned char>(detail[digits]))) return std::nullopt;
  return pid;
}

std::map<std::string, std::string> drift_hook_env(const JournalEvent& e, std::int64_t ts_ms) {
  const auto pid = pid_of_kill_detail(e.detail);
  return {
      {"BOTTLE", e.bottle},
      {"MACHINE", e.machine},
      {"PID", pid ? std::to_string(*pid) : std::string()},
      {"DETAIL", e.detail},
      {"BS_EVENT_KIND", e.kind},
      {"BS_EVENT_TIME", store::format_rfc3339(ts_ms)},
  };
}

void DriftHook::run(const std::vector<std::string>& argv, const JournalEvent& e, std::int64_t ts_ms) {
  if (argv.empty()) return;
  if (runner_.running() >= kMaxRunningHooks) {
    spdlog::warn("bottle {}: on_drift_kill not run for {}: {} hooks still running", e.bottle, e.machine,
                 runner_.running());
    return;
  }
  const std::string bottle = e.bottle;
  runner_.run(argv, drift_hook_env(e, ts_ms), kHookTimeout, [bottle, cmd = argv.front()](CommandResult r) {
    if (!r.spawn_error.empty()) {
      spdlog::warn("bottle {}: on_drift_kill {} could not start: {}", bottle, cmd, r.spawn_error);
    } else if (r.timed_out) {
      spdlog::warn("bottle {}: on_drift_kill {} killed after {} s", bottle, cmd,
                   std::chrono::duration_cast<std::chrono::seconds>(kHookTimeout).count());
    } else if (r.exit_code != 0) {
      const std::string why = r.exit_code >= 0 ? "exited " + std::to_string(r.exit_code)
                                               : "killed by signal " + std::to_string(r.term_signal);
      spdlog::warn("bottle {}: on_drift_kill {} {}: {}", bottle, cmd, why, first_line(r.err));
    } else {
      spdlog::debug("bottle {}: on_drift_kill {} done", bottle, cmd);
    }
  });
}

}  // namespace bs::supervisor
