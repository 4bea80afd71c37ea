#include "smolvm/running_vm.h"

#include <cerrno>
#include <charconv>

#include "smolvm/boot_config.h"

namespace bs::smolvm {
namespace {

constexpr std::size_t kMaxAgentPidBytes = 64;
constexpr std::size_t kMaxAgentConfigBytes = 4u << 20;

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string join(const std::string& dir, std::string_view file) { return dir + "/" + std::string(file); }

}  // namespace

std::optional<AgentPid> parse_agent_pid(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const auto nl = text.find('\n');
  AgentPid out;
  auto pid = parse_number<std::int64_t>(text.substr(0, nl));
  if (!pid || *pid <= 0) return std::nullopt;
  out.pid = *pid;
  if (nl != std::string_view::npos) {
    auto start = parse_number<std::uint64_t>(text.substr(nl + 1));
    if (!start) return std::nullopt;
    out.start_time = *start;
  }
  return out;
}

bs::Expected<std::optional<AgentPid>, std::string> read_agent_pid(const std::string& data_dir) {
  const std::string path = join(data_dir, kAgentPidFile);
  int open_errno = 0;
  auto text = read_vm_file(path, kMaxAgentPidBytes, &open_errno);
  if (!text) {
    if (open_errno == ENOENT) return std::optional<AgentPid>{};
    return bs::unexpected(text.error());
  }
  auto parsed = parse_agent_pid(*text);
  if (!parsed) return bs::unexpected(path + ": not \"<pid>\\n<start time>\"");
  return std::optional<AgentPid>{*parsed};
}

bs::Expected<AllowedCidrs, std::string> read_running_policy(const std::string& data_dir) {
  const std::string path = join(data_dir, kAgentConfigFile);
  auto text = read_vm_file(path, kMaxAgentConfigBytes);
  if (!text) return bs::unexpected(text.error());
  auto policy = parse_booted_policy(*text);
  if (!policy) return bs::unexpected(path + ": " + policy.error());
  return policy;
}

std::optional<std::string> data_dir_of_boot_config(std::string_view path) {
  const std::string suffix = "/" + std::string(kBootConfigFile);
  if (path.size() <= suffix.size() || path.substr(path.size() - suffix.size()) != suffix) return std::nullopt;
  return std::string(path.substr(0, path.size() - suffix.size()));
}

}  // namespace bs::smolvm
