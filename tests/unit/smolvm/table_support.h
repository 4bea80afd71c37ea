// Helpers several smolvm tests share. Defined once here: the test binaries are unity builds,
// where two files' file-local helpers of the same name would collide.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "smolvm/record.h"
#include "smolvm/vm_table.h"

namespace bs::test {

inline smolvm::VmTable open_table(const std::string& path) {
  auto t = smolvm::VmTable::open(path);
  if (!t) FAIL(t.error().message);
  return std::move(t).value();
}

// The patch that confines a row to `list`.
inline smolvm::RecordPatch cidrs(std::vector<std::string> list) {
  smolvm::RecordPatch p;
  p.allowed_cidrs = std::move(list);
  return p;
}

// The patch of a removed bottle's kept machine: no network, empty allowlist.
inline smolvm::RecordPatch quarantine() {
  smolvm::RecordPatch p;
  p.network = false;
  p.allowed_cidrs = std::vector<std::string>{};
  return p;
}

}  // namespace bs::test
