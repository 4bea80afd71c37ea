#include "store/schema.h"

#include <string>

namespace bs::store {
namespace {

// STRICT tables: a value of the wrong type is an error rather than silently stored.
// verified_vms.allowlist holds the verified CIDRs joined by '\n' (CIDRs never contain one).
// events uses AUTOINCREMENT so ids are never reused: `events --follow` resumes after an id.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE leases (
  bottle      TEXT PRIMARY KEY NOT NULL,
  address     TEXT NOT NULL UNIQUE,
  acquired_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE machines (
  machine     TEXT PRIMARY KEY NOT NULL,
  bottle      TEXT NOT NULL,
  origin      TEXT NOT NULL CHECK (origin IN ('created', 'adopted')),
  on_remove   TEXT NOT NULL CHECK (on_remove IN ('delete', 'keep')),
  fingerprint TEXT NOT NULL,
  since_ms    INTEGER NOT NULL
) STRICT;

CREATE TABLE verified_vms (
  machine     TEXT PRIMARY KEY NOT NULL REFERENCES machines (machine) ON DELETE CASCADE,
  pid         INTEGER NOT NULL,
  start_time  INTEGER NOT NULL,
  allowlist   TEXT NOT NULL,
  verified_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms   INTEGER NOT NULL,
  bottle  TEXT NOT NULL,
  machine TEXT NOT NULL,
  kind    TEXT NOT NULL,
  detail  TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_bottle ON events (bottle, id);
)sql";

// v2: the text of each bottle's last valid spec, so a spec that is invalid when the supervisor
// starts still has a desired state (CONTRACT §3: an invalid spec keeps the last valid one).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE last_valid_specs (
  bottle   TEXT PRIMARY KEY NOT NULL,
  path     TEXT NOT NULL,
  text     TEXT NOT NULL,
  saved_ms INTEGER NOT NULL
) STRICT;
)sql";

StoreError newer_schema(std::int64_t version) {
  return {StoreError::Kind::Other, "state.db was written by a newer bottle-supervisor (schema " +
                                       std::to_string(version) + ")"};
}

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> list = {{1, kSchemaV1}, {2, kSchemaV2}};
  return list;
}

std::optional<StoreError> migrate(Connection& conn, const std::vector<Migration>& migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  auto seen = conn.query_int("PRAGMA user_version", "reading the schema version");
  if (!seen) return seen.error();
  if (*seen > latest) return newer_schema(*seen);
  if (*seen == latest) return std::nullopt;

  auto txn = WriteTxn::begin(conn);
  if (!txn) return txn.error();
  // Another process may have migrated between the read above and taking the write lock.
  auto current = conn.query_int("PRAGMA user_version", "reading the schema version");
  if (!current) return current.error();
  if (*current > latest) return newer_schema(*current);
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    if (auto err = conn.exec(m.sql, "migrating state.db to schema " + std::to_string(m.version))) {
      return err;
    }
  }
  // PRAGMA takes no bound parameters; the version is our own integer.
  if (auto err = conn.exec("PRAGMA user_version = " + std::to_string(latest), "recording the schema version")) {
    return err;
  }
  return txn->commit();
}

}  // namespace bs::store
