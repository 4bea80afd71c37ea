#include "support/sqlite_db.h"

#include <unistd.h>

#include <stdexcept>

namespace bs::test {

Statement::Statement(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) {
    throw std::runtime_error("prepare " + sql + ": " + sqlite3_errmsg(db_));
  }
}

Statement& Statement::bind(int index, const SqlValue& value) {
  const int size = static_cast<int>(value.bytes.size());
  if (value.is_blob) {
    sqlite3_bind_blob(stmt_, index, value.bytes.data(), size, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_text(stmt_, index, value.bytes.data(), size, SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind_all(const std::vector<SqlValue>& values) {
  int index = 1;
  for (const auto& v : values) bind(index++, v);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw std::runtime_error(sql_ + ": " + sqlite3_errmsg(db_));
}

std::optional<std::string> Statement::bytes(int column) const {
  if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
  const void* p = sqlite3_column_blob(stmt_, column);
  return std::string(p != nullptr ? static_cast<const char*>(p) : "",
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

SqliteDb::SqliteDb(const std::string& path, Mode mode, int busy_timeout_ms) : path_(path) {
  const int flags = mode == Mode::ReadOnly    ? SQLITE_OPEN_READONLY
                    : mode == Mode::ReadWrite ? SQLITE_OPEN_READWRITE
                                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw std::runtime_error("open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

std::optional<SqliteDb> SqliteDb::open_existing(const std::string& path, Mode mode, int busy_timeout_ms) {
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  return SqliteDb(path, mode, busy_timeout_ms);
}

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

int SqliteDb::try_exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }

void SqliteDb::exec(const std::string& sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    const std::string text = msg != nullptr ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    throw std::runtime_error(sql + ": " + text);
  }
}

std::vector<std::optional<std::string>> SqliteDb::column(const std::string& sql, const std::vector<SqlValue>& binds) {
  Statement s(db_, sql);
  s.bind_all(binds);
  std::vector<std::optional<std::string>> out;
  while (s.step()) out.push_back(s.bytes(0));
  return out;
}

std::string SqliteDb::text(const std::string& sql) {
  Statement s(db_, sql);
  if (!s.step()) return "";
  return s.bytes(0).value_or("");
}

Transaction::Transaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace bs::test
