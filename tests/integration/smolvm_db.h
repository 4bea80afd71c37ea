// The temp HOME's smolvm DB, read and written directly with sqlite3 the way another smolvm
// process (or a careless tool) would: reading a row as stored, a read-modify-write of one field
// inside BEGIN IMMEDIATE with the record bound as a BLOB, and a TEXT-typed write.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bs::integ {

struct StoredRow {
  std::string name;
  std::string data;   // the bytes as stored
  bool blob = false;  // sqlite3_column_type == SQLITE_BLOB
  nlohmann::json json() const;  // data parsed (compare values, not key order)
};

// nullopt when the DB or the row does not exist.
std::optional<StoredRow> read_row(const std::string& db_path, const std::string& machine);
std::vector<StoredRow> read_rows(const std::string& db_path);  // empty when the DB is missing

// smolvm's update_vm: BEGIN IMMEDIATE, read, mutate the parsed record, write back as a BLOB.
// Throws when the row is missing.
void update_row(const std::string& db_path, const std::string& machine,
                const std::function<void(nlohmann::ordered_json&)>& mutate);

// update_row setting only allowed_cidrs (a JSON list, or null for "unrestricted").
void set_allowed_cidrs(const std::string& db_path, const std::string& machine, const nlohmann::json& value);

// Writes `data` as a TEXT value (what json_set() without a CAST would leave behind).
void write_row_text(const std::string& db_path, const std::string& machine, const std::string& data);

}  // namespace bs::integ
