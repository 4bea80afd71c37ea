// Where smolvm keeps its state, derived exactly as smolvm derives it (src/db.rs, src/process.rs,
// src/agent/manager.rs): the dirs crate's data/cache dirs, with SMOLVM_DATA_DIR=<root> acting as
// HOME=<root> with the XDG variables unset.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <vector>

#include "platform/env.h"
#include "platform/identity.h"
#include "platform/xdg.h"

namespace bs::smolvm {

struct Paths {
  std::string data_root;   // the value passed on as SMOLVM_DATA_DIR, or empty for smolvm's own
  std::string server_dir;  // .../smolvm/server
  std::string db;          // .../smolvm/server/smolvm.db
  std::string vms_dir;     // .../smolvm/vms

  // What a VM process's argv[0] may be: "/proc/self/exe" (how smolvm re-executes itself on
  // Linux, checked against 1.32.2) and the smolvm binary as configured and as resolved (macOS
  // spawns its own path). Filled in by the settings, which know the binary.
  std::vector<std::string> vm_argv0 = {"/proc/self/exe"};

  // <vms_dir>/<first 16 hex of sha256(name)> (unchanged up to 1.32.2: checked against
  // `smolvm machine data-dir --name`).
  std::string vm_data_dir(std::string_view machine) const;
  std::string boot_config(std::string_view machine) const;  // <vm_data_dir>/boot-config.json
  // CONTRACT §6.4: the exact command line of machine's VM process, and nothing else.
  platform::ArgvRule vm_command_line(std::string_view machine) const;
};

// first 8 bytes of SHA-256(name) as lowercase hex ("default" -> "37a8eec1ce19687d").
std::string vm_dir_hash(std::string_view machine);

// data_dir_override (--smolvm-data-dir / config smolvm.data_dir) wins over SMOLVM_DATA_DIR.
Paths derive_paths(const platform::EnvLookup& env,
                   const std::optional<std::string>& data_dir_override = std::nullopt,
                   platform::Os os = platform::host_os());

}  // namespace bs::smolvm
