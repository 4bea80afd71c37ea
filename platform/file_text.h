// Whole-file reads: small kernel-made files (/proc), whose size stat() cannot tell, and the
// user's own files (config, specs), which must be regular files of bounded size.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "reconcile/expected.h"

namespace bs::platform {

// The file's bytes; nullopt when it cannot be opened or read.
std::optional<std::string> read_file_text(const std::string& path);

struct RegularFileText {
  std::string text;
  uid_t uid = 0;  // owner and mode of the file read (from its descriptor), for trust checks
  mode_t mode = 0;
};

struct ReadFailure {
  int error = 0;        // errno of open/read; 0 when the file was refused (not regular, too large)
  std::string message;  // "<path>: not a regular file", "<path>: cannot read: <strerror>", ...
};

// Reads a file the supervisor is told to trust: opened non-blocking (a FIFO, a device or a
// socket placed where a config or spec belongs must never hang the loop), refused unless it is a
// regular file, and refused when larger than `max_bytes` (checked by size and while reading, as
// the file may grow).
bs::Expected<RegularFileText, ReadFailure> read_regular_file(const std::string& path, std::size_t max_bytes);

}  // namespace bs::platform
