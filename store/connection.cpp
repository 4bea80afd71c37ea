#include "store/connection.h"

#include <sqlite3.h>

#include <cerrno>
#include <utility>

namespace bs::store {
namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

}  // namespace

// --- Statement ---------------------------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

bs::Expected<bool, StoreError> Statement::step(std::string_view doing) {
  if (bind_rc_ != SQLITE_OK) return bs::unexpected(conn_->error(bind_rc_, doing));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return bs::unexpected(conn_->error(rc, doing));
}

std::optional<StoreError> Statement::run(std::string_view doing) {
  for (;;) {
    auto row = step(doing);
    if (!row) return row.error();
    if (!*row) return std::nullopt;
  }
}

std::int64_t Statement::int64(int column) const {
  return static_cast<std::int64_t>(sqlite3_column_int64(stmt_, column));
}

std::string Statement::text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

// --- Connection --------------------------------------------------------------------------------

bs::Expected<std::unique_ptr<Connection>, StoreError> Connection::open(const std::string& path, Access access) {
  sqlite3* db = nullptr;
  const int flags = access == Access::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  // Built before any early return so the handle (allocated even on failure) is always closed.
  std::unique_ptr<Connection> conn(new Connection(db, path));
  if (rc != SQLITE_OK) {
    if (db == nullptr) return bs::unexpected(StoreError{StoreError::Kind::Other, "cannot open " + path + ": out of memory"});
    return bs::unexpected(conn->error(rc, "opening the database"));
  }
  sqlite3_extended_result_codes(db, 1);
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

bs::Expected<Statement, StoreError> Connection::prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = cache_.find(key); it != cache_.end()) return Statement(*this, it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return bs::unexpected(error(rc, "preparing a query"));
  }
  cache_.emplace(std::move(key), stmt);
  return Statement(*this, stmt);
}

std::optional<StoreError> Connection::exec(const std::string& sql, std::string_view doing) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // error() re-reads the message from the connection
  if (rc != SQLITE_OK) return error(rc, doing);
  return std::nullopt;
}

std::optional<StoreError> Connection::run(std::string_view sql, std::string_view doing) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  return stmt->run(doing);
}

bs::Expected<std::int64_t, StoreError> Connection::query_int(std::string_view sql,
                                                             std::string_view doing) {
  auto stmt = prepare(sql);
  if (!stmt) return bs::unexpected(stmt.error());
  auto row = stmt->step(doing);
  if (!row) return bs::unexpected(row.error());
  if (!*row) return bs::unexpected(StoreError{StoreError::Kind::Other, std::string(doing) + ": no result from " + path_});
  return stmt->int64(0);
}

StoreError Connection::error(int rc, std::string_view doing) const {
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  // SQLite reports ENOSPC as SQLITE_FULL from plain writes, but as an I/O error from some paths
  // (fsync, shm growth); the errno tells them apart.
  const bool no_space = primary == SQLITE_FULL ||
                        (primary == SQLITE_IOERR && db_ != nullptr && sqlite3_system_errno(db_) == ENOSPC);
  if (no_space) {
    return {StoreError::Kind::Full, "no space left for " + path_ + " (while " + std::string(doing) +
                                        "): free some space in " + dir_of(path_)};
  }
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return {StoreError::Kind::Busy, std::string(doing) + ": " + path_ +
                                          " is locked by another connection; will retry"};
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return {StoreError::Kind::ReadOnly, std::string(doing) + ": cannot write " + path_ + " (" +
                                              detail + "): check the permissions of " + dir_of(path_) +
                                              " and the files in it"};
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return {StoreError::Kind::Corrupt, path_ + " is damaged (" + detail + ", while " +
                                             std::string(doing) +
                                             "): move it aside and restart bottle-supervisor to "
                                             "start with an empty state"};
    default:
      return {StoreError::Kind::Other, std::string(doing) + " failed on " + path_ + ": " + detail};
  }
}

// --- WriteTxn ----------------------------------------------------------------------------------

bs::Expected<WriteTxn, StoreError> WriteTxn::begin(Connection& conn) {
  WriteTxn txn(conn);
  if (conn.write_depth_ > 0) {
    // SQLite rolls a whole transaction back by itself after some errors (SQLITE_FULL, I/O errors);
    // writing on would then run in autocommit mode, outside the caller's transaction.
    if (sqlite3_get_autocommit(conn.db_) != 0) {
      txn.open_ = false;
      return bs::unexpected(StoreError{StoreError::Kind::Other,
                                       "the transaction on " + conn.path_ +
                                           " was rolled back after an earlier error; retry it"});
    }
    txn.nested_ = true;
  }
  if (auto err = conn.run(txn.nested_ ? "SAVEPOINT nested" : "BEGIN IMMEDIATE", "starting a write")) {
    txn.open_ = false;
    return bs::unexpected(*err);
  }
  ++conn.write_depth_;
  return txn;
}

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
    : conn_(other.conn_), nested_(other.nested_), open_(std::exchange(other.open_, false)) {}

WriteTxn::~WriteTxn() {
  if (open_) rollback();
}

std::optional<StoreError> WriteTxn::commit() {
  if (!open_) return StoreError{StoreError::Kind::Other, "commit of a finished transaction"};
  if (sqlite3_get_autocommit(conn_->db_) != 0) {
    open_ = false;
    --conn_->write_depth_;
    return StoreError{StoreError::Kind::Other, "the transaction on " + conn_->path_ +
                                                   " was rolled back after an earlier error; retry it"};
  }
  if (auto err = conn_->run(nested_ ? "RELEASE nested" : "COMMIT", "committing")) {
    rollback();  // a failed COMMIT (SQLITE_FULL, BUSY) leaves the transaction open
    return err;
  }
  open_ = false;
  --conn_->write_depth_;
  return std::nullopt;
}

void WriteTxn::rollback() {
  open_ = false;
  --conn_->write_depth_;
  if (sqlite3_get_autocommit(conn_->db_) != 0) return;  // SQLite already rolled it back
  if (nested_) {
    // ROLLBACK TO keeps the savepoint on the stack; RELEASE pops it.
    (void)conn_->run("ROLLBACK TO nested", "undoing a nested write");
    (void)conn_->run("RELEASE nested", "undoing a nested write");
  } else {
    (void)conn_->run("ROLLBACK", "rolling back");
  }
}

}  // namespace bs::store
