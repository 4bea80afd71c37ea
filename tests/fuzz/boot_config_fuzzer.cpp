// What a running VM booted with, read from bytes a guest-side or local attacker may shape:
// /proc/<pid>/cmdline (boot_config_from_cmdline, cmdline_contains) and boot-config.json
// (parse_booted_policy). Never throws or crashes; the answers are consistent with the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "smolvm/boot_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto path = bs::smolvm::boot_config_from_cmdline(bytes);
  if (path) {
    FUZZ_CHECK(!path->empty(), "a boot-config path is not empty");
    FUZZ_CHECK(path->find('\0') == std::string::npos, "a boot-config path is one argument");
    FUZZ_CHECK(bytes.find(*path) != std::string_view::npos, "the path comes from the command line");
    FUZZ_CHECK(bs::smolvm::cmdline_contains(bytes, *path), "the command line contains its own argument");
  }
  FUZZ_CHECK(!bs::smolvm::cmdline_contains(bytes, ""), "an empty needle matches nothing");
  (void)bs::smolvm::cmdline_contains(bytes, "/boot-config.json");

  auto policy = bs::smolvm::parse_booted_policy(bytes);
  if (policy) {
    if (policy->kind != bs::smolvm::AllowedCidrs::Kind::List) {
      FUZZ_CHECK(policy->cidrs.empty(), "only a list holds CIDRs");
    }
  } else {
    FUZZ_CHECK(!policy.error().empty(), "a refusal says why");
  }
  return 0;
}
