// Test fixture: a smolvm state DB made the way smolvm makes it (reference §1.2-§1.5): WAL,
// synchronous=NORMAL, 15 s busy timeout set first, the full schema, and records as compact JSON
// BLOBs with the full key set in declaration order. Each FixtureDb is its own connection, so to a
// VmTable it is "another process".
#pragma once

#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace bs::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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
  ~FixtureDb();

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }
  // Runs SQL; returns the sqlite result code (tests REQUIRE on it where it matters).
  int exec(const std::string& sql);

  // smolvm's insert_vm: upsert with data bound as a BLOB.
  void put(const std::string& name, const std::string& data);
  // The bug smolvm cannot survive: data stored TEXT-typed (what json_set(...) returns).
  void put_text(const std::string& name, const std::string& data);
  std::optional<std::string> data(const std::string& name);
  std::string type_of_data(const std::string& name);  // typeof(data): "blob", "text", ...

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace bs::test
