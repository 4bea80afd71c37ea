#include "smolvm/boot_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "platform/identity.h"
#include "platform/unique_fd.h"
#include "smolvm/strict_json.h"

namespace bs::smolvm {
namespace {

constexpr std::size_t kMaxBootConfigBytes = 4u << 20;

}  // namespace

std::optional<std::string> boot_config_from_cmdline(std::string_view cmdline) {
  auto args = platform::split_cmdline(cmdline);
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
  for (auto arg : platform::split_cmdline(cmdline)) {
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

bs::Expected<std::string, std::string> read_vm_file(const std::string& path, std::size_t max_bytes, int* open_errno) {
  // Non-blocking and regular files only: a FIFO or device planted in a VM's data dir must not
  // hang the loop.
  platform::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    if (open_errno != nullptr) *open_errno = err;
    return bs::unexpected(path + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return bs::unexpected(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return bs::unexpected(path + ": not a regular file");
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return bs::unexpected(path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      return bs::unexpected(path + ": larger than " + std::to_string(max_bytes >> 10) + " KiB, refusing to parse");
    }
  }
  return text;
}

bs::Expected<AllowedCidrs, std::string> read_booted_policy(const std::string& config_path) {
  auto text = read_vm_file(config_path, kMaxBootConfigBytes);
  if (!text) return bs::unexpected(text.error());
  auto policy = parse_booted_policy(*text);
  if (!policy) return bs::unexpected(config_path + ": " + policy.error());
  return policy;
}

}  // namespace bs::smolvm
