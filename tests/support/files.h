// Whole files, as tests read and write them. Writes throw std::runtime_error with the path and
// the reason; a watched folder only ever sees whole files through write_file_atomic.
#pragma once

#include <sys/types.h>

#include <string>

namespace bs::test {

// The file's bytes; "" when it is missing or unreadable.
std::string read_file(const std::string& path);

// Creates or truncates `path` (its folder must exist) and leaves it with exactly `mode`.
void write_file(const std::string& path, const std::string& text, mode_t mode = 0600);

// Writes a dot-named sibling (<dir>/.<name>.tmp, which the daemon's spec watch ignores) and
// renames it over `path`: a reader sees the old file or the new one, never half of it.
void write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0600);

bool file_exists(const std::string& path);  // anything at all at `path` (stat succeeds)
// The permission bits (07777) of what is at `path`; throws when there is nothing.
mode_t permissions_of(const std::string& path);

}  // namespace bs::test
