#include "smolvm/boot_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "platform/unique_fd.h"
#include "smolvm/strict_json.h"

namespace bs::smolvm {
namespace {

constexpr std::size_t kMaxBootConfigBytes = 4u << 20;

std::vector<std::string_view> split_args(std::string_view cmdline) {
  std::vector<std::string_view> args;
  if (!cmdline.empty() && cmdline.back() == '\0') cmdline.remove_suffix(1);
  if (cmdline.empty()) return args;
  for (;;) {
    auto nul = cmdline.find('\0');
    args.push_back(cmdline.substr(0, nul));
    if (nul == std::string_view::npos) break;
    cmdline.remove_prefix(nul + 1);
  }
  return args;
}

}  // namespace

std::optional<std::string> boot_config_from_cmdline(std::string_view cmdline) {
  auto args = split_args(cmdline);
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "_boot-vm") {
      if (args[i + 1].empty()) return std::nullopt;
      return std::string(args[i + 1]);
    }
  }
  return std::nullopt;
}

bool cmdline_contains(std::string_view cmdline, std::string_view needle) {
  if (needle.empty()) return false;
  for (auto arg : split_args(cmdline)) {
    if (arg.find(needle) != std::string_view::npos) return true;
  }
  std::string joined(cmdline);
  for (char& c : joined) {
    if (c == '\0') c = ' ';
  }
  return joined.find(needle) != std::string::npos;
}

bs::Expected<AllowedCidrs, std::string> parse_booted_policy(std::string_view json_text) {
  auto parsed = parse_strict_json(json_text);
  if (!parsed) return bs::unexpected(parsed.error());
  if (!parsed->is_object()) return bs::unexpected(std::string("not a JSON object"));
  auto resources = parsed->find("resources");
  if (resources == parsed->end() || !resources->is_object()) {
    return bs::unexpected(std::string("no \"resources\" object"));
  }
  auto cidrs = resources->find("allowed_cidrs");
  return allowed_cidrs_from(cidrs == resources->end() ? nullptr : &*cidrs);
}

bs::Expected<AllowedCidrs, std::string> read_booted_policy(const std::string& boot_config_path) {
  const std::string where = "boot config " + boot_config_path;
  platform::UniqueFd fd(::open(boot_config_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return bs::unexpected(where + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return bs::unexpected(where + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxBootConfigBytes) return bs::unexpected(where + ": larger than 4 MiB, refusing to parse");
  }
  auto policy = parse_booted_policy(text);
  if (!policy) return bs::unexpected(where + ": " + policy.error());
  return policy;
}

}  // namespace bs::smolvm
