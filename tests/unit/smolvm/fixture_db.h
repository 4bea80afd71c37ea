// Test fixture: a smolvm state DB made the way smolvm makes it (reference §1.2-§1.5): WAL,
// synchronous=NORMAL, 15 s busy timeout set first, the full schema, and records as compact JSON
// BLOBs with the full key set in declaration order. Each FixtureDb is its own connection, so to a
// VmTable it is "another process".
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "support/smolvm_rows.h"
#include "support/sqlite_db.h"
#include "support/temp_dir.h"

namespace bs::test {

// The record `smolvm machine create --name <name> --image alpine:3.20 --cpus 1 --mem 512` writes,
// keys in VmRecord order, as ordered_json so a test can change values without reordering.
nlohmann::ordered_json smolvm_record(const std::string& name);
std::string smolvm_record_bytes(const std::string& name);  // compact, as serde_json::to_vec

// All 52 VmRecord keys of reference §1.5 in order, including the ones smolvm omits when unset
// (secret_refs, user, labels, forkable, golden, ...), with plausible non-default values.
nlohmann::ordered_json smolvm_record_all_keys(const std::string& name);

class FixtureDb {
 public:
  explicit FixtureDb(const std::string& path, bool with_schema = true);
  FixtureDb(const FixtureDb&) = delete;
  FixtureDb& operator=(const FixtureDb&) = delete;

  sqlite3* db() const { return db_.get(); }
  const std::string& path() const { return db_.path(); }
  // Runs SQL; returns the sqlite result code (tests REQUIRE on it where it matters).
  int exec(const std::string& sql) { return db_.try_exec(sql); }

  // smolvm's insert_vm: upsert with data bound as a BLOB.
  void put(const std::string& name, const std::string& data) { rows_.put(name, data, Stored::Blob); }
  // The bug smolvm cannot survive: data stored TEXT-typed (what json_set(...) returns).
  void put_text(const std::string& name, const std::string& data) { rows_.put(name, data, Stored::Text); }
  std::optional<std::string> data(const std::string& name);
  std::string type_of_data(const std::string& name);  // typeof(data): "blob", "text", ...

 private:
  SqliteDb db_;
  SmolvmRows rows_{db_};
};

}  // namespace bs::test
