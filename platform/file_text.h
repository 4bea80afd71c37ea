// Whole-file reads of small kernel-made files (/proc), whose size stat() cannot tell.
#pragma once

#include <optional>
#include <string>

namespace bs::platform {

// The file's bytes; nullopt when it cannot be opened or read.
std::optional<std::string> read_file_text(const std::string& path);

}  // namespace bs::platform
