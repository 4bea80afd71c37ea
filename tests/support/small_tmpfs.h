// A full disk on demand: a small tmpfs mounted on a folder for one test, and a filler that writes
// until the filesystem refuses. Mounting needs root; where it fails, mounted() is false and
// error() says why (the tests then skip with a warning).
#pragma once

#include <cstddef>
#include <string>

namespace bs::test {

class SmallTmpfs {
 public:
  // Mounts a tmpfs of `size` ("512k", "1m") with mode 0700 on `dir`, creating it first.
  SmallTmpfs(const std::string& dir, const std::string& size);
  ~SmallTmpfs();  // unmounts lazily, so a file still open does not keep it mounted
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

struct Filled {
  std::size_t bytes = 0;  // how much `path` took
  int refusal = 0;        // errno of the write that was refused (ENOSPC when the disk is full)
};
// Writes `path` until the filesystem refuses: whole blocks, then single bytes (SQLite needs only
// a page to grow, so no leftover may stay free). Throws when `path` cannot be created.
Filled fill_until_full(const std::string& path);

}  // namespace bs::test
