// Reads the bottle spec folder: the name filter, the owner/permission trust check, the text.
#pragma once

#include <string>
#include <vector>

#include "reconcile/spec_set.h"

namespace bs::supervisor {

struct SpecFolderScan {
  bool readable = false;          // the folder exists and could be listed
  std::string problem;            // why not
  std::uint64_t inode = 0, device = 0;
  std::vector<SpecFile> files;    // spec-named regular files (symlinks followed), sorted by name
};

// Only regular files named *.toml not starting with '.' are specs. A file not owned by the
// effective uid or writable by group/others is reported with access_error (the folder is a
// trust boundary), as is one that cannot be read or is larger than 1 MiB.
SpecFolderScan scan_spec_folder(const std::string& dir);

// Creates the folder (and parents) with mode 0700 when missing.
std::string ensure_spec_folder(const std::string& dir);  // empty on success, else the error

}  // namespace bs::supervisor
