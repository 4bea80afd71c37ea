#include "smolvm/paths.h"

#include <unordered_map>

#include "smolvm/sha256.h"

namespace bs::smolvm {

std::string vm_dir_hash(std::string_view machine) {
  // Asked for every machine on every pass (its boot-config path, the stray scan): remembered.
  // Per thread, and bounded: a pure function's memo, never wrong, at worst recomputed.
  thread_local std::unordered_map<std::string, std::string> memo;
  auto it = memo.find(std::string(machine));
  if (it != memo.end()) return it->second;
  if (memo.size() >= 8192) memo.clear();
  std::string hash = sha256_hex(machine).substr(0, 16);
  memo.emplace(std::string(machine), hash);
  return hash;
}

std::string Paths::vm_data_dir(std::string_view machine) const {
  return vms_dir + "/" + vm_dir_hash(machine);
}

std::string Paths::boot_config(std::string_view machine) const {
  return vm_data_dir(machine) + "/boot-config.json";
}

platform::ArgvRule Paths::vm_command_line(std::string_view machine) const {
  return platform::ArgvRule{vm_argv0, {"_boot-vm", boot_config(machine)}};
}

Paths derive_paths(const platform::EnvLookup& env, const std::optional<std::string>& data_dir_override,
                   platform::Os os) {
  std::optional<std::string> root = data_dir_override;
  if (!root || root->empty()) root = env("SMOLVM_DATA_DIR");
  if (root && root->empty()) root.reset();

  std::string data, cache;
  if (os == platform::Os::MacOS) {
    // The dirs crate ignores XDG on macOS. SMOLVM_DATA_DIR is assumed to rewrite HOME there too.
    std::string home = root ? *root : platform::home_dir(env);
    data = home + "/Library/Application Support";
    cache = home + "/Library/Caches";
  } else if (root) {
    data = *root + "/.local/share";
    cache = *root + "/.cache";
  } else {
    data = platform::data_home(env);
    cache = platform::cache_home(env);
  }

  Paths p;
  p.data_root = root.value_or("");
  p.server_dir = data + "/smolvm/server";
  p.db = p.server_dir + "/smolvm.db";
  p.vms_dir = cache + "/smolvm/vms";
  return p;
}

}  // namespace bs::smolvm
