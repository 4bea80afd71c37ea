// Reads the bottle spec folder: the name filter, the owner/permission trust check, the text.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reconcile/spec_set.h"

namespace bs::supervisor {

struct SpecFolderScan {
  bool readable = false;          // the folder exists and could be listed
  // The folder is owned by the supervisor's user and not writable by group or others (CONTRACT
  // §3, as sshd's StrictModes). An untrusted folder is listed (for the watch) but its files are
  // not read: nothing in it is acted on.
  bool trusted = false;
  std::string problem;            // why it is not readable or not trusted
  std::uint64_t inode = 0, device = 0;
  std::vector<SpecFile> files;    // spec-named regular files (symlinks followed), sorted by name
  // With a cache: every file was a cache hit and none of those cached is gone, so `files` is
  // exactly what the previous scan with this cache returned.
  bool unchanged = false;
};

// What a file looked like when it was read: any write, chmod, chown or replacement changes it
// (ctime cannot be set by the file's owner).
struct FileIdentity {
  std::uint64_t device = 0, inode = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  std::uint32_t mode = 0, uid = 0;
  bool operator==(const FileIdentity&) const = default;
};

// Spec files read by earlier scans, by path, with the identity each had when read. A resync
// rescans the folder; reading 1,000 unchanged files again would cost a stat, an open, a read
// and a close each, where a stat shows they are the same.
struct SpecReadCache {
  struct Entry {
    FileIdentity identity;
    SpecFile file;
  };
  std::map<std::string, Entry> entries;
  // How many spec files the last scan listed, cached or not: a file too fresh to be cached that
  // has since gone leaves no entry behind, and only this count tells that the folder changed.
  std::size_t last_count = 0;
  // A file changed more recently than this may change again within the same timestamp tick
  // (they are coarser than writes), so it is read again rather than trusted.
  std::int64_t settle_ns = 2'000'000'000;
};

// Only regular files named *.toml not starting with '.' are specs. A file not owned by the
// effective uid or writable by group/others is reported with access_error (the folder is a
// trust boundary), as is a symlink not itself owned by the effective uid, and one that cannot
// be read or is larger than 1 MiB.
// With `cache`, a file whose identity is unchanged since it was read is not read again; files
// changed within the last cache->settle_ns are always read.
SpecFolderScan scan_spec_folder(const std::string& dir, SpecReadCache* cache = nullptr);

// Creates the folder (and parents) with mode 0700 when missing.
std::string ensure_spec_folder(const std::string& dir);  // empty on success, else the error

}  // namespace bs::supervisor
