#include "smolvm_db.h"

#include <sqlite3.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace bs::integ {
namespace {

// smolvm waits this long for a lock; so do we, like any other smolvm process.
constexpr int kBusyTimeoutMs = 15000;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

std::optional<Db> open_db(const std::string& path, bool write) {
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  sqlite3* raw = nullptr;
  int flags = write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) throw std::runtime_error("open " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  return db;
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare ") + sql + ": " + sqlite3_errmsg(db));
  }
  return Stmt(raw);
}

void exec(sqlite3* db, const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg ? msg : "?";
    sqlite3_free(msg);
    throw std::runtime_error(std::string(sql) + ": " + text);
  }
}

StoredRow row_of(sqlite3_stmt* s) {
  StoredRow r;
  r.name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  r.blob = sqlite3_column_type(s, 1) == SQLITE_BLOB;
  const void* bytes = sqlite3_column_blob(s, 1);
  r.data.assign(static_cast<const char*>(bytes), static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
  return r;
}

// Rolls back unless committed, so no transaction outlives the helper.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

void write_data(sqlite3* db, const std::string& machine, const std::string& data, bool blob) {
  Stmt up = prepare(db, "UPDATE vms SET data = ?1 WHERE name = ?2");
  if (blob) {
    sqlite3_bind_blob(up.get(), 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_text(up.get(), 1, data.data(), static_cast<int>(data.size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_text(up.get(), 2, machine.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(up.get()) != SQLITE_DONE) throw std::runtime_error(std::string("update: ") + sqlite3_errmsg(db));
  if (sqlite3_changes(db) != 1) throw std::runtime_error("update: no row named " + machine);
}

}  // namespace

nlohmann::json StoredRow::json() const { return nlohmann::json::parse(data); }

std::optional<StoredRow> read_row(const std::string& db_path, const std::string& machine) {
  auto db = open_db(db_path, false);
  if (!db) return std::nullopt;
  Stmt s = prepare(db->get(), "SELECT name, data FROM vms WHERE name = ?1");
  sqlite3_bind_text(s.get(), 1, machine.c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return row_of(s.get());
  if (rc == SQLITE_DONE) return std::nullopt;
  throw std::runtime_error("read " + machine + ": " + sqlite3_errmsg(db->get()));
}

std::vector<StoredRow> read_rows(const std::string& db_path) {
  std::vector<StoredRow> rows;
  auto db = open_db(db_path, false);
  if (!db) return rows;
  Stmt s = prepare(db->get(), "SELECT name, data FROM vms ORDER BY name");
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) rows.push_back(row_of(s.get()));
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("read rows: ") + sqlite3_errmsg(db->get()));
  return rows;
}

void update_row(const std::string& db_path, const std::string& machine,
                const std::function<void(nlohmann::ordered_json&)>& mutate) {
  auto db = open_db(db_path, true);
  if (!db) throw std::runtime_error("no smolvm DB at " + db_path);
  Transaction tx(db->get());
  Stmt s = prepare(db->get(), "SELECT name, data FROM vms WHERE name = ?1");
  sqlite3_bind_text(s.get(), 1, machine.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.get()) != SQLITE_ROW) throw std::runtime_error("no row named " + machine);
  // Key order kept, as smolvm serialises the record.
  auto record = nlohmann::ordered_json::parse(row_of(s.get()).data);
  s.reset();
  mutate(record);
  write_data(db->get(), machine, record.dump(), true);
  tx.commit();
}

void set_allowed_cidrs(const std::string& db_path, const std::string& machine, const nlohmann::json& value) {
  update_row(db_path, machine, [&](nlohmann::ordered_json& record) {
    record["allowed_cidrs"] = nlohmann::ordered_json::parse(value.dump());
  });
}

void write_row_text(const std::string& db_path, const std::string& machine, const std::string& data) {
  auto db = open_db(db_path, true);
  if (!db) throw std::runtime_error("no smolvm DB at " + db_path);
  Transaction tx(db->get());
  write_data(db->get(), machine, data, false);
  tx.commit();
}

}  // namespace bs::integ
