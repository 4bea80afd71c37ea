// The state DB's schema as an ordered list of migrations, tracked in PRAGMA user_version.
#pragma once

#include <optional>
#include <vector>

#include "store/connection.h"

namespace bs::store {

struct Migration {
  int version;      // user_version after this migration
  const char* sql;  // statements taking the schema from version-1 to version
};

// The supervisor's migrations, oldest first; version 1 is the initial schema.
const std::vector<Migration>& schema_migrations();

// Brings the database up to the last migration of `migrations`, all pending steps in one write
// transaction (a crash mid-way leaves the old version intact). An up-to-date database is not
// written to, so readers (the CLI) never need the write lock. A database newer than the list is
// refused: "state.db was written by a newer bottle-supervisor (schema N)".
[[nodiscard]] std::optional<StoreError> migrate(Connection& conn,
                                                const std::vector<Migration>& migrations = schema_migrations());

}  // namespace bs::store
