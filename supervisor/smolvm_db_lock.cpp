#include "supervisor/smolvm_db_lock.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "platform/xdg.h"
#include "smolvm/sha256.h"

namespace bs::supervisor {
namespace {

// realpath() of the longest existing prefix, plus the rest as written: the DB (or its folder)
// may not exist yet, and two daemons must still agree on its name.
std::string resolved(const std::string& given) {
  // "." and ".." in the part that does not exist yet are resolved by spelling.
  const std::string path = std::filesystem::path(given).lexically_normal().string();
  std::string head = path, tail;
  while (!head.empty() && head != "/") {
    char buf[PATH_MAX];
    if (::realpath(head.c_str(), buf) != nullptr) return std::string(buf) + tail;
    auto slash = head.find_last_of('/');
    if (slash == std::string::npos) break;
    tail = head.substr(slash) + tail;
    head = slash == 0 ? "/" : head.substr(0, slash);
  }
  return path;
}

std::string lock_dir(const platform::EnvLookup& env) {
  if (auto runtime = platform::runtime_dir(env)) return *runtime + "/bottle-supervisor";
  return "/tmp/bottle-supervisor-" + std::to_string(::geteuid());
}

// The folder must be ours and closed to others: in /tmp anyone could have made it first.
std::optional<std::string> check_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return "cannot create " + dir + ": " + std::strerror(errno);
  }
  struct stat st{};
  if (::lstat(dir.c_str(), &st) != 0) return "cannot use " + dir + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (st.st_uid != ::geteuid()) {
    return dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by you (uid " +
           std::to_string(::geteuid()) + ")";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) return dir + " is writable by other users";
  return std::nullopt;
}

}  // namespace

std::string smolvm_db_lock_path(const std::string& db_path, const platform::EnvLookup& env) {
  return lock_dir(env) + "/smolvm-db-" + smolvm::sha256_hex(resolved(db_path)).substr(0, 16) + ".lock";
}

bs::Expected<platform::InstanceLock, std::string> lock_smolvm_db(const std::string& db_path,
                                                                const std::string& state_dir,
                                                                const platform::EnvLookup& env) {
  const std::string path = smolvm_db_lock_path(db_path, env);
  if (auto runtime = platform::runtime_dir(env)) {
    // XDG_RUNTIME_DIR itself is the user's (pam_systemd); only our folder in it is made here.
    if (::mkdir(runtime->c_str(), 0700) != 0 && errno != EEXIST) {
      return bs::unexpected("cannot create " + *runtime + ": " + std::strerror(errno));
    }
  }
  if (auto err = check_dir(lock_dir(env))) return bs::unexpected("cannot lock the smolvm DB " + db_path + ": " + *err);
  // The note is one line: a state dir with a newline in it would split it.
  std::string note = "state dir " + state_dir;
  for (char& c : note) {
    if (c == '\n' || c == '\r') c = '?';
  }
  auto lock = platform::InstanceLock::acquire(path, note);
  if (!lock) {
    return bs::unexpected("another bottle-supervisor already manages the smolvm DB " + db_path + ": " + lock.error() +
                          " (lock " + path + ")");
  }
  return lock;
}

}  // namespace bs::supervisor
