// The StateStore's watch on its own file: state.db deleted (or replaced) while the daemon runs
// must not send every later write into an unlinked inode that nobody will ever read.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/state_store.h"

namespace bs::store {
namespace {

std::string directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash == 0 ? 1 : slash);
}

}  // namespace

void StateStore::remember_file_identity() {
  struct stat st {};
  file_known_ = ::stat(conn_->path().c_str(), &st) == 0;
  file_device_ = file_known_ ? static_cast<std::uint64_t>(st.st_dev) : 0;
  file_inode_ = file_known_ ? static_cast<std::uint64_t>(st.st_ino) : 0;
}

void StateStore::set_file_problem(std::string message) {
  file_problem_ = std::move(message);
  if (report_ && *file_problem_ != last_reported_) report_(*file_problem_);
  last_reported_ = *file_problem_;
}

bs::Expected<WriteTxn, StoreError> StateStore::begin_write() {
  if (!conn_->in_write_txn()) check_file();  // never mid-transaction: a restore swaps the connection
  return WriteTxn::begin(*conn_);
}

void StateStore::check_file() {
  if (!file_known_ || conn_->in_write_txn()) return;
  const std::string path = conn_->path();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (static_cast<std::uint64_t>(st.st_dev) == file_device_ && static_cast<std::uint64_t>(st.st_ino) == file_inode_) {
      return;
    }
    set_file_problem(path + " was replaced by another file while the daemon runs; it is left alone and the "
                            "daemon keeps writing to the copy it opened (restart the daemon to use the new file)");
    return;
  }
  if (errno != ENOENT) return;  // cannot tell (e.g. a permission change): nothing to act on
  if (auto err = restore_file()) {
    set_file_problem(path + " was deleted while the daemon runs and cannot be rewritten (" + *err +
                     "); the daemon keeps its state in the deleted copy and tries again at the next write");
    return;
  }
  set_file_problem(path + " was deleted while the daemon ran; it was rewritten from the daemon's open copy, "
                          "nothing was lost");
}

// Writes the open (unlinked) database out as a new state.db and switches to it. The order
// matters: SQLite deletes "<db>-wal" and "<db>-shm" BY NAME when its last connection closes, so
// the old connection is told to keep its WAL (SQLITE_FCNTL_PERSIST_WAL) and the stale names are
// removed before the new file exists; the old connection then only touches its own open inodes.
std::optional<std::string> StateStore::restore_file() {
  const std::string path = conn_->path();
  const std::string dir = directory_of(path);
  const std::string copy = path + ".restoring";
  ::mkdir(dir.c_str(), 0700);  // the directory may be gone too
  ::unlink(copy.c_str());      // a leftover of an earlier failed try, in our private state dir
  // 0600 from the start; VACUUM INTO accepts an empty file and never overwrites a non-empty one.
  int fd = ::open(copy.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return std::string("cannot create ") + copy + ": " + std::strerror(errno);
  ::close(fd);
  std::string error;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(conn_->handle(), "VACUUM INTO ?1", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(stmt, 1, copy.c_str(), -1, SQLITE_TRANSIENT);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) error = sqlite3_errmsg(conn_->handle());
  sqlite3_finalize(stmt);
  if (!error.empty()) {
    ::unlink(copy.c_str());
    return error;
  }
  int persist = 1;
  sqlite3_file_control(conn_->handle(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  ::unlink((path + "-wal").c_str());
  ::unlink((path + "-shm").c_str());
  // link, not rename: a file someone put at the path meanwhile is never replaced.
  if (::link(copy.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(copy.c_str());
    return "cannot put the copy in place: " + std::string(std::strerror(err));
  }
  ::unlink(copy.c_str());
  auto reopened = open_file(path);
  if (!reopened) return reopened.error().message;
  conn_ = std::move(reopened->conn_);  // the old connection closes here, on its own inodes
  remember_file_identity();
  return std::nullopt;
}

}  // namespace bs::store
