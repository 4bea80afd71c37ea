// A test's own connection to an SQLite file, independent of the code under test (to a connection
// the product holds, it is another process). Statements are finalised and transactions rolled
// back on every path; errors throw std::runtime_error with SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bs::test {

// A value bound to ?N: text, unless made with blob().
struct SqlValue {
  SqlValue(std::string v) : bytes(std::move(v)) {}  // NOLINT: implicit, so binds read as {"a", "b"}
  SqlValue(const char* v) : bytes(v) {}              // NOLINT
  std::string bytes;
  bool is_blob = false;
};
inline SqlValue blob(std::string bytes) {
  SqlValue v(std::move(bytes));
  v.is_blob = true;
  return v;
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, const SqlValue& value);
  Statement& bind(int index, std::int64_t value);  // an INTEGER, for comparisons with integer columns
  Statement& bind_all(const std::vector<SqlValue>& values);  // ?1, ?2, ...
  bool step();  // true: a row; false: done
  std::optional<std::string> bytes(int column) const;  // nullopt for NULL
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }  // 0 for NULL
  int type(int column) const { return sqlite3_column_type(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

class SqliteDb {
 public:
  enum class Mode { ReadOnly, ReadWrite, Create };
  // `busy_timeout_ms`: how long a statement waits for another connection's lock.
  SqliteDb(const std::string& path, Mode mode, int busy_timeout_ms);
  // nullopt when there is nothing at `path` (a reader's view of a DB not created yet).
  static std::optional<SqliteDb> open_existing(const std::string& path, Mode mode, int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) { other.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&&) = delete;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  int try_exec(const std::string& sql);  // SQLite's result code
  void exec(const std::string& sql);     // throws unless SQLITE_OK
  // The first column of every row, as bytes (nullopt for NULL).
  std::vector<std::optional<std::string>> column(const std::string& sql, const std::vector<SqlValue>& binds = {});
  // The first row's first column; "" when there is no row or it is NULL.
  std::string text(const std::string& sql);
  std::int64_t integer(const std::string& sql) { return std::stoll(text(sql)); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE, rolled back unless committed: no transaction outlives the function.
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace bs::test
