// The smallest RAII layer over the sqlite3 C API that vm_table needs: a prepared statement that
// is finalized with its owner and reset after every use (an un-reset statement keeps a read
// transaction open, which starves smolvm's WAL checkpoints), and a transaction that rolls back
// unless committed, so none outlives the function that began it.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace bs::smolvm {

class SqliteStatement {
 public:
  SqliteStatement() = default;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

  // Returns the sqlite result code; on failure the statement stays empty.
  int prepare(sqlite3* db, std::string_view sql);
  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets and unbinds a statement when the scope using it ends, whatever path it leaves by.
class StatementUse {
 public:
  explicit StatementUse(const SqliteStatement& s) : stmt_(s.get()) {}
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back by the destructor unless commit() succeeded.
class WriteTransaction {
 public:
  explicit WriteTransaction(sqlite3* db) : db_(db) {}
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction();

  int begin();   // sqlite result code (SQLITE_BUSY when another writer holds the lock)
  int commit();  // sqlite result code; on failure the destructor rolls back

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace bs::smolvm
