// smolvm's `vms` table read and written with sqlite3 directly, the way another smolvm process (or
// a careless tool) would: rows as stored, smolvm's upsert with the record bound as a BLOB, a
// read-modify-write of one field inside BEGIN IMMEDIATE, TEXT-typed writes, deletions. Every
// connection waits 15 s for a lock, as smolvm's do.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/sqlite_db.h"

namespace bs::test {

constexpr int kSmolvmBusyTimeoutMs = 15000;

struct StoredRow {
  std::string name;
  std::string data;   // the bytes as stored
  bool blob = false;  // stored BLOB-typed, as smolvm writes it
  nlohmann::json json() const;  // data parsed (compare values, not key order)
};

enum class Stored { Blob, Text };

// The table through one connection (the caller's, so it can also hold a transaction on it).
class SmolvmRows {
 public:
  explicit SmolvmRows(SqliteDb& db) : db_(db) {}

  std::optional<StoredRow> row(const std::string& name);
  std::vector<StoredRow> rows();  // ordered by name
  std::string type_of(const std::string& name);  // typeof(data); "" when there is no such row
  // smolvm's insert_vm: INSERT ... ON CONFLICT(name) DO UPDATE SET data = excluded.data.
  void put(const std::string& name, const std::string& data, Stored as = Stored::Blob);
  // Overwrites an existing row's data; throws when there is no such row.
  void replace(const std::string& name, const std::string& data, Stored as);
  // smolvm's update_vm: BEGIN IMMEDIATE, read, mutate the parsed record (key order kept),
  // write it back as a BLOB. Throws when the row is missing.
  void update(const std::string& name, const std::function<void(nlohmann::ordered_json&)>& mutate);
  void remove(const std::string& name);  // throws when there is no such row

 private:
  SqliteDb& db_;
};

// The same, each call on a fresh connection to the DB file at `db_path`.
std::optional<StoredRow> read_row(const std::string& db_path, const std::string& machine);  // nullopt: no DB or row
std::vector<StoredRow> read_rows(const std::string& db_path);  // empty when there is no DB
void update_row(const std::string& db_path, const std::string& machine,
                const std::function<void(nlohmann::ordered_json&)>& mutate);
// update_row setting only allowed_cidrs (a JSON list, or null for "unrestricted").
void set_allowed_cidrs(const std::string& db_path, const std::string& machine, const nlohmann::json& value);
// Overwrites `machine`'s data as a TEXT value (what json_set() without a CAST leaves behind).
void write_row_text(const std::string& db_path, const std::string& machine, const std::string& data);
void write_row_blob(const std::string& db_path, const std::string& machine, const std::string& bytes);
void delete_row(const std::string& db_path, const std::string& machine);

}  // namespace bs::test
