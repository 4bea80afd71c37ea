#include "supervisor/spec_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <ctime>

namespace bs::supervisor {
namespace {

constexpr off_t kMaxSpecBytes = 1 << 20;

std::string errno_text(int e) { return std::strerror(e); }

// Reads the file through one descriptor and checks that same inode, so a swap between the check
// and the read cannot smuggle in an untrusted file.
FileIdentity identity_of(const struct stat& st) {
  FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  id.mode = st.st_mode;
  id.uid = st.st_uid;
  return id;
}

std::int64_t now_realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Returns the identity of the file read (from the descriptor it was read through), when read.
std::optional<FileIdentity> read_spec(SpecFile& f) {
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    f.access_error = f.path + ": cannot read: " + errno_text(errno);
    return std::nullopt;
  }
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* p) { ::close(*p); });
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    f.access_error = f.path + ": cannot stat: " + errno_text(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    f.access_error = f.path + ": not a regular file";
    return std::nullopt;
  }
  if (st.st_uid != ::geteuid()) {
    f.access_error = f.path + ": owned by uid " + std::to_string(st.st_uid) +
                     ", not by the supervisor's user (uid " + std::to_string(::geteuid()) +
                     "); spec files must be owned by you";
    return std::nullopt;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    f.access_error = f.path + ": writable by group or others (mode " +
                     std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                     std::to_string(st.st_mode & 7) + "); run: chmod go-w " + f.path;
    return std::nullopt;
  }
  if (st.st_size > kMaxSpecBytes) {
    f.access_error = f.path + ": larger than 1 MiB";
    return std::nullopt;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      f.access_error = f.path + ": cannot read: " + errno_text(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > static_cast<std::size_t>(kMaxSpecBytes)) {
      f.access_error = f.path + ": larger than 1 MiB";
      return std::nullopt;
    }
  }
  f.text = std::move(text);
  return identity_of(st);
}

}  // namespace

SpecFolderScan scan_spec_folder(const std::string& dir, SpecReadCache* cache) {
  SpecFolderScan scan;
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) {
    scan.problem = "spec folder " + dir + ": " + errno_text(errno);
    return scan;
  }
  if (!S_ISDIR(dst.st_mode)) {
    scan.problem = "spec folder " + dir + " is not a directory";
    return scan;
  }
  scan.inode = dst.st_ino;
  scan.device = dst.st_dev;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    scan.problem = "spec folder " + dir + ": " + errno_text(errno);
    return scan;
  }
  scan.readable = true;
  // Anyone who can write the folder can add, replace or delete specs (a sticky bit stops only
  // the deletes): such a folder says nothing about what the user wants.
  if (dst.st_uid != ::geteuid()) {
    scan.problem = "spec folder " + dir + " is owned by uid " + std::to_string(dst.st_uid) +
                   ", not by the supervisor's user (uid " + std::to_string(::geteuid()) + "); nothing in it is acted on";
    return scan;
  }
  if ((dst.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    scan.problem = "spec folder " + dir + " is writable by group or others (mode " +
                   std::to_string((dst.st_mode >> 9) & 7) + std::to_string((dst.st_mode >> 6) & 7) +
                   std::to_string((dst.st_mode >> 3) & 7) + std::to_string(dst.st_mode & 7) +
                   "); nothing in it is acted on; run: chmod go-w " + dir;
    return scan;
  }
  scan.trusted = true;
  const std::int64_t now_ns = now_realtime_ns();
  std::map<std::string, SpecReadCache::Entry> still;  // the cache's entries for files still here
  bool all_hits = true;
  while (const dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (!is_spec_file_name(name)) continue;
    SpecFile f;
    f.file_name = name;
    f.path = dir + "/" + name;
    struct stat st {};
    // Relative to the open folder: no walk of the whole path for each of 1,000 files.
    if (::fstatat(::dirfd(d.get()), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    if (S_ISLNK(st.st_mode)) {
      // Whoever owns the link chose its target: it must be the user (the target is checked as
      // any spec file when read).
      if (st.st_uid != ::geteuid()) {
        all_hits = false;
        f.access_error = f.path + ": a symlink owned by uid " + std::to_string(st.st_uid) +
                         ", not by the supervisor's user (uid " + std::to_string(::geteuid()) +
                         "); spec files and symlinks must be owned by you";
        scan.files.push_back(std::move(f));
        continue;
      }
      if (::fstatat(::dirfd(d.get()), name.c_str(), &st, 0) != 0) continue;  // a dangling symlink
    }
    if (!S_ISREG(st.st_mode)) continue;  // a directory named x.toml is not a spec
    if (cache != nullptr) {
      auto hit = cache->entries.find(f.path);
      if (hit != cache->entries.end() && hit->second.identity == identity_of(st)) {
        scan.files.push_back(hit->second.file);
        still.insert(cache->entries.extract(hit));
        continue;
      }
    }
    all_hits = false;
    auto read_as = read_spec(f);
    if (cache != nullptr && read_as && !f.access_error && now_ns - read_as->ctime_ns >= cache->settle_ns &&
        now_ns - read_as->mtime_ns >= cache->settle_ns) {
      still[f.path] = SpecReadCache::Entry{*read_as, f};
    }
    scan.files.push_back(std::move(f));
  }
  if (cache != nullptr) {
    // What is left in the cache is gone; so is anything the last scan listed beyond its entries.
    scan.unchanged = all_hits && cache->entries.empty() && scan.files.size() == cache->last_count;
    cache->entries = std::move(still);
    cache->last_count = scan.files.size();
  }
  std::sort(scan.files.begin(), scan.files.end(),
            [](const SpecFile& a, const SpecFile& b) { return a.file_name < b.file_name; });
  return scan;
}

std::string ensure_spec_folder(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  std::filesystem::path p(dir);
  // Parents as the user's umask allows; the folder itself private.
  std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create spec folder " + dir + ": " + errno_text(errno);
  }
  return {};
}

}  // namespace bs::supervisor
