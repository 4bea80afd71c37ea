// Shared bits for the store tests: the store opened (or the test stopped), and a raw SQLite look at
// the state DB, independent of the code under test.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "reconcile/cidr.h"
#include "store/state_store.h"
#include "support/sqlite_db.h"
#include "support/temp_dir.h"

namespace bs::store::test {

// A second, raw connection to a database file, for checks the store API does not offer.
inline bs::test::SqliteDb raw_connection(const std::string& path) {
  return bs::test::SqliteDb(path, bs::test::SqliteDb::Mode::ReadWrite, 2000);
}

// Typed values from text the test knows is valid.
inline Ipv4 ip(const char* dotted) {
  auto a = parse_ipv4(dotted);
  if (!a) throw std::runtime_error(a.error());
  return *a;
}
inline Allowlist allowlist(const std::vector<std::string>& cidrs) {
  auto a = parse_allowlist(cidrs);
  if (!a) throw std::runtime_error(a.error());
  return *a;
}

inline StateStore open_store(const std::string& dir) {
  auto store = StateStore::open(dir);
  if (!store) throw std::runtime_error("open failed: " + store.error().message);
  return std::move(store).value();
}

}  // namespace bs::store::test
