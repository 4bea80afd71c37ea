// VmTable's private state, shared by its read side (vm_table.cpp) and its patch side
// (vm_table_patch.cpp).
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include <functional>
#include <string>

#include "smolvm/sqlite_statement.h"
#include "smolvm/vm_table.h"

namespace bs::smolvm {

// Which file a path names, if any.
struct FileId {
  bool present = false;
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

struct VmTable::Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    select_all = {};
    select_one = {};
    update = {};
    version = {};
    sqlite3_close_v2(db);
  }

  sqlite3* db = nullptr;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
  // The -wal and -shm files as of the open: another process deleting them leaves this connection
  // on files nobody else sees (smolvm then starts new ones, or fails with "disk I/O error").
  FileId wal, shm;
  SqliteStatement select_all, select_one, update, version;
  std::function<void()> before_write;

  // "smolvm DB <path>: <what>: <sqlite message>"
  DbError error(int rc, const std::string& what) const;
  std::optional<DbError> check_not_replaced(bool replaced) const;
};

// The row at the statement's current step, columns (name, data), classified as smolvm would read it.
MachineRow row_from(sqlite3_stmt* stmt);

}  // namespace bs::smolvm
