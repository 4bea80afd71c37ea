// A SQLite connection with the habits the store relies on: prepared statements cached on the
// connection and borrowed through a guard that always resets them (an un-reset statement keeps a
// read transaction open and starves WAL checkpoints), write transactions that cannot outlive the
// scope that began them, and SQLite result codes turned into StoreErrors.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "reconcile/expected.h"
#include "store/store_error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bs::store {

class Connection;

// A cached statement on loan. The destructor resets it and clears its bindings, so no statement
// is left mid-step whatever path the caller leaves by.
class Statement {
 public:
  Statement(Connection& conn, sqlite3_stmt* stmt) : conn_(&conn), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL. A failed bind is remembered and reported by step().
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);

  // true: a row is ready; false: done. `doing` names the operation in an error message.
  bs::Expected<bool, StoreError> step(std::string_view doing);
  // Steps until done, for statements that return no rows (or whose rows do not matter).
  std::optional<StoreError> run(std::string_view doing);

  std::int64_t int64(int column) const;
  std::string text(int column) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = 0;
};

class Connection {
 public:
  enum class Access { ReadWrite, ReadOnly };
  // Opens the database at `path` (ReadWrite creates it when missing; ReadOnly never creates or
  // writes it); errors name `path`.
  static bs::Expected<std::unique_ptr<Connection>, StoreError> open(const std::string& path,
                                                                   Access access = Access::ReadWrite);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for `sql`, prepared on first use.
  bs::Expected<Statement, StoreError> prepare(std::string_view sql);
  // Runs one statement through the cache, ignoring any rows.
  std::optional<StoreError> run(std::string_view sql, std::string_view doing);
  // Runs SQL text that may hold several statements (schema, pragmas); nothing is cached.
  std::optional<StoreError> exec(const std::string& sql, std::string_view doing);
  // The integer in the first column of the first row of `sql` (a pragma or a count).
  bs::Expected<std::int64_t, StoreError> query_int(std::string_view sql, std::string_view doing);

  // A StoreError for result code `rc` of the operation `doing`, with the connection's message.
  StoreError error(int rc, std::string_view doing) const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  bool in_write_txn() const { return write_depth_ > 0; }

 private:
  friend class WriteTxn;
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  int write_depth_ = 0;
};

// A write transaction: BEGIN IMMEDIATE at the outermost level (so the write lock is taken up
// front and a busy database fails fast instead of failing at the first write), a SAVEPOINT when
// nested, so each mutation is atomic even inside a caller's larger transaction. Rolled back by
// the destructor unless commit() succeeded.
class WriteTxn {
 public:
  static bs::Expected<WriteTxn, StoreError> begin(Connection& conn);
  ~WriteTxn();
  WriteTxn(WriteTxn&& other) noexcept;
  WriteTxn& operator=(WriteTxn&&) = delete;
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  [[nodiscard]] std::optional<StoreError> commit();

 private:
  explicit WriteTxn(Connection& conn) : conn_(&conn) {}
  void rollback();

  Connection* conn_;
  bool nested_ = false;
  bool open_ = true;
};

}  // namespace bs::store
