#include "tools/smolvm-sim/state_db.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <system_error>

namespace bs::sim {
namespace {

constexpr int kBusyTimeoutMs = 15000;
constexpr std::int64_t kCreateReservationTtlSecs = 60 * 60;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vm_create_reservations ("
    " name TEXT PRIMARY KEY NOT NULL, owner_token TEXT NOT NULL,"
    " owner_pid INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fork_pools (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fork_pool_snapshots (golden TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fork_pool_slots ("
    " machine_name TEXT PRIMARY KEY NOT NULL, pool_name TEXT NOT NULL,"
    " state TEXT NOT NULL, data BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS fork_pool_slots_pool_state ON fork_pool_slots(pool_name, state);"
    "CREATE TABLE IF NOT EXISTS fork_leases ("
    " id TEXT PRIMARY KEY NOT NULL, pool_name TEXT NOT NULL, idempotency_key TEXT NOT NULL,"
    " state TEXT NOT NULL, data BLOB NOT NULL, UNIQUE(pool_name, idempotency_key));"
    "CREATE INDEX IF NOT EXISTS fork_leases_pool_state ON fork_leases(pool_name, state);";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Finalizes its statement on every path out of a function.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() const { return stmt_; }
  std::string errmsg() const { return sqlite3_errmsg(db_); }

  void bind_text(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void bind_blob(int i, const std::string& s) { sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void bind_int(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int step() { return sqlite3_step(stmt_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// Rolls back unless committed: no transaction outlives the function that began it.
class Tx {
 public:
  Tx(sqlite3* db, const char* begin) : db_(db) { rc_ = sqlite3_exec(db, begin, nullptr, nullptr, nullptr); }
  ~Tx() {
    if (rc_ == SQLITE_OK && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  bool commit() {
    done_ = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    return done_;
  }

 private:
  sqlite3* db_;
  int rc_;
  bool done_ = false;
};

const char* type_name(int t) {
  switch (t) {
    case SQLITE_INTEGER: return "Integer";
    case SQLITE_FLOAT: return "Real";
    case SQLITE_TEXT: return "Text";
    case SQLITE_BLOB: return "Blob";
    default: return "Null";
  }
}

// rusqlite's row.get::<Vec<u8>>: only a BLOB value converts; anything else is InvalidColumnType.
Expected<std::string, std::string> blob_column(sqlite3_stmt* s, int i) {
  int t = sqlite3_column_type(s, i);
  if (t != SQLITE_BLOB) {
    return unexpected(std::string("Invalid column type ") + type_name(t) + " at index: " + std::to_string(i) +
                      ", name: " + sqlite3_column_name(s, i));
  }
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return std::string(static_cast<const char*>(p), p == nullptr ? 0 : static_cast<std::size_t>(n));
}

// rusqlite's row.get::<String>: only TEXT converts.
Expected<std::string, std::string> text_column(sqlite3_stmt* s, int i) {
  int t = sqlite3_column_type(s, i);
  if (t != SQLITE_TEXT) {
    return unexpected(std::string("Invalid column type ") + type_name(t) + " at index: " + std::to_string(i) +
                      ", name: " + sqlite3_column_name(s, i));
  }
  const unsigned char* p = sqlite3_column_text(s, i);
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

Result<VmRecord> decode(const std::string& name, const std::string& bytes) {
  auto r = VmRecord::parse(bytes);
  if (!r) return unexpected(database_error("deserialize vm record '" + name + "'", r.error()));
  return std::move(*r);
}

// Reads the one data row of `SELECT data FROM vms WHERE name = ?1` (absent -> nullopt).
Result<std::optional<VmRecord>> select_one(sqlite3* db, const std::string& name) {
  const std::string op = "get vm '" + name + "'";
  Stmt st(db, "SELECT data FROM vms WHERE name = ?1");
  if (!st.ok()) return unexpected(database_error(op, st.errmsg()));
  st.bind_text(1, name);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<VmRecord>{};
  if (rc != SQLITE_ROW) return unexpected(database_error(op, st.errmsg()));
  auto bytes = blob_column(st.get(), 0);
  if (!bytes) return unexpected(database_error(op, bytes.error()));
  auto rec = decode(name, *bytes);
  if (!rec) return unexpected(rec.error());
  return std::optional<VmRecord>(std::move(*rec));
}

Done exec(sqlite3* db, const char* sql, const std::string& op) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return database_error(op, msg);
  }
  return std::nullopt;
}

}  // namespace

std::string create_reservation_token() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  return std::to_string(getpid()) + "-" + std::to_string(unix_now()) + "-" + std::to_string(nanos);
}

Result<StateDb> StateDb::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return unexpected(database_error("create directory", os_error_text(ec.value())));

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                           nullptr);
  StateDb db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) {
    return unexpected(database_unavailable("open database: " + std::string(raw ? sqlite3_errmsg(raw) : "out of memory")));
  }
  // The busy handler goes first so a burst of concurrent opens cannot fail the pragmas (a68f0429).
  if (sqlite3_busy_timeout(raw, kBusyTimeoutMs) != SQLITE_OK) {
    return unexpected(database_error("set busy_timeout", sqlite3_errmsg(raw)));
  }
  if (auto e = exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "configure pragmas")) {
    return unexpected(*e);
  }
  if (auto e = exec(raw, kSchema, "create tables")) return unexpected(*e);
  return db;
}

StateDb::~StateDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Result<std::optional<VmRecord>> StateDb::get_vm(const std::string& name) { return select_one(db_, name); }

Result<std::vector<std::pair<std::string, VmRecord>>> StateDb::list_vms() {
  // load_all reads inside one deferred transaction.
  Tx tx(db_, "BEGIN");
  if (!tx.ok()) return unexpected(database_error("begin read transaction", sqlite3_errmsg(db_)));
  Stmt st(db_, "SELECT name, data FROM vms");
  if (!st.ok()) return unexpected(database_error("prepare list vms", st.errmsg()));
  std::vector<std::pair<std::string, VmRecord>> out;
  for (;;) {
    int rc = st.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return unexpected(database_error("query vms", st.errmsg()));
    auto name = text_column(st.get(), 0);
    if (!name) return unexpected(database_error("read vms row", name.error()));
    auto bytes = blob_column(st.get(), 1);
    if (!bytes) return unexpected(database_error("read vms row", bytes.error()));
    auto rec = decode(*name, *bytes);
    if (!rec) return unexpected(rec.error());
    out.emplace_back(*name, std::move(*rec));
  }
  if (!tx.commit()) return unexpected(database_error("commit read transaction", sqlite3_errmsg(db_)));
  return out;
}

Done StateDb::insert_vm(const std::string& name, const VmRecord& record) {
  Stmt st(db_, "INSERT INTO vms (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET data = excluded.data");
  if (!st.ok()) return database_error("insert vm '" + name + "'", st.errmsg());
  st.bind_text(1, name);
  st.bind_blob(2, record.serialize());
  if (st.step() != SQLITE_DONE) return database_error("insert vm '" + name + "'", st.errmsg());
  return std::nullopt;
}

Result<bool> StateDb::update_vm(const std::string& name, const std::function<void(VmRecord&)>& mutate) {
  // IMMEDIATE reserves the write lock before the read, so the upgrade cannot hit BUSY_SNAPSHOT.
  Tx tx(db_, "BEGIN IMMEDIATE");
  if (!tx.ok()) return unexpected(database_error("begin transaction", sqlite3_errmsg(db_)));
  auto current = select_one(db_, name);
  if (!current) return unexpected(current.error());
  if (!current->has_value()) {
    if (!tx.commit()) return unexpected(database_error("commit vm update", sqlite3_errmsg(db_)));
    return false;
  }
  VmRecord rec = std::move(**current);
  mutate(rec);
  Stmt st(db_, "UPDATE vms SET data = ?2 WHERE name = ?1");
  if (!st.ok()) return unexpected(database_error("update vm '" + name + "'", st.errmsg()));
  st.bind_text(1, name);
  st.bind_blob(2, rec.serialize());
  if (st.step() != SQLITE_DONE) return unexpected(database_error("update vm '" + name + "'", st.errmsg()));
  if (!tx.commit()) return unexpected(database_error("commit vm update", sqlite3_errmsg(db_)));
  return true;
}

Result<bool> StateDb::remove_vm(const std::string& name) {
  Tx tx(db_, "BEGIN");
  if (!tx.ok()) return unexpected(database_error("begin transaction", sqlite3_errmsg(db_)));
  auto current = select_one(db_, name);
  if (!current) return unexpected(current.error());
  if (current->has_value()) {
    Stmt del(db_, "DELETE FROM vms WHERE name = ?1");
    if (!del.ok()) return unexpected(database_error("remove vm '" + name + "'", del.errmsg()));
    del.bind_text(1, name);
    if (del.step() != SQLITE_DONE) return unexpected(database_error("remove vm '" + name + "'", del.errmsg()));
    Stmt snap(db_, "DELETE FROM fork_pool_snapshots WHERE golden = ?1");
    const std::string op = "remove retained fork snapshot for '" + name + "'";
    if (!snap.ok()) return unexpected(database_error(op, snap.errmsg()));
    snap.bind_text(1, name);
    if (snap.step() != SQLITE_DONE) return unexpected(database_error(op, snap.errmsg()));
  }
  if (!tx.commit()) return unexpected(database_error("commit vm removal", sqlite3_errmsg(db_)));
  return current->has_value();
}

Result<bool> StateDb::reserve_vm_create(const std::string& name, const std::string& token) {
  const std::int64_t now = unix_now();
  Tx tx(db_, "BEGIN");
  if (!tx.ok()) return unexpected(database_error("begin create reservation", sqlite3_errmsg(db_)));
  {
    // A reservation whose owner died, or that is older than the TTL, no longer holds the name.
    Stmt st(db_, "SELECT owner_pid, created_at FROM vm_create_reservations WHERE name = ?1");
    const std::string op = "read create reservation '" + name + "'";
    if (!st.ok()) return unexpected(database_error(op, st.errmsg()));
    st.bind_text(1, name);
    int rc = st.step();
    if (rc == SQLITE_ROW) {
      std::int64_t owner = sqlite3_column_int64(st.get(), 0);
      std::int64_t created = sqlite3_column_int64(st.get(), 1);
      bool alive = owner > 0 && kill(static_cast<pid_t>(owner), 0) == 0;
      if (!alive || created <= now - kCreateReservationTtlSecs) {
        Stmt del(db_, "DELETE FROM vm_create_reservations WHERE name = ?1");
        const std::string dop = "remove stale create reservation '" + name + "'";
        if (!del.ok()) return unexpected(database_error(dop, del.errmsg()));
        del.bind_text(1, name);
        if (del.step() != SQLITE_DONE) return unexpected(database_error(dop, del.errmsg()));
      }
    } else if (rc != SQLITE_DONE) {
      return unexpected(database_error(op, st.errmsg()));
    }
  }
  {
    Stmt st(db_, "SELECT EXISTS(SELECT 1 FROM vms WHERE name = ?1)");
    const std::string op = "check vm '" + name + "'";
    if (!st.ok()) return unexpected(database_error(op, st.errmsg()));
    st.bind_text(1, name);
    if (st.step() != SQLITE_ROW) return unexpected(database_error(op, st.errmsg()));
    if (sqlite3_column_int(st.get(), 0) != 0) {
      if (!tx.commit()) return unexpected(database_error("commit create reservation check", sqlite3_errmsg(db_)));
      return false;
    }
  }
  Stmt ins(db_,
           "INSERT OR IGNORE INTO vm_create_reservations (name, owner_token, owner_pid, created_at) "
           "VALUES (?1, ?2, ?3, ?4)");
  const std::string op = "reserve vm '" + name + "'";
  if (!ins.ok()) return unexpected(database_error(op, ins.errmsg()));
  ins.bind_text(1, name);
  ins.bind_text(2, token);
  ins.bind_int(3, getpid());
  ins.bind_int(4, now);
  if (ins.step() != SQLITE_DONE) return unexpected(database_error(op, ins.errmsg()));
  const bool inserted = sqlite3_changes(db_) == 1;
  if (!tx.commit()) return unexpected(database_error("commit create reservation", sqlite3_errmsg(db_)));
  return inserted;
}

Result<bool> StateDb::commit_reserved_vm(const std::string& name, const std::string& token,
                                         const VmRecord& record) {
  Tx tx(db_, "BEGIN");
  if (!tx.ok()) return unexpected(database_error("begin reserved vm commit", sqlite3_errmsg(db_)));
  {
    Stmt st(db_, "SELECT EXISTS(SELECT 1 FROM vm_create_reservations WHERE name = ?1 AND owner_token = ?2)");
    const std::string op = "check create reservation '" + name + "'";
    if (!st.ok()) return unexpected(database_error(op, st.errmsg()));
    st.bind_text(1, name);
    st.bind_text(2, token);
    if (st.step() != SQLITE_ROW) return unexpected(database_error(op, st.errmsg()));
    if (sqlite3_column_int(st.get(), 0) == 0) {
      if (!tx.commit()) return unexpected(database_error("commit reservation ownership check", sqlite3_errmsg(db_)));
      return false;
    }
  }
  bool inserted = false;
  {
    Stmt ins(db_, "INSERT OR IGNORE INTO vms (name, data) VALUES (?1, ?2)");
    const std::string op = "insert reserved vm '" + name + "'";
    if (!ins.ok()) return unexpected(database_error(op, ins.errmsg()));
    ins.bind_text(1, name);
    ins.bind_blob(2, record.serialize());
    if (ins.step() != SQLITE_DONE) return unexpected(database_error(op, ins.errmsg()));
    inserted = sqlite3_changes(db_) == 1;
  }
  {
    Stmt del(db_, "DELETE FROM vm_create_reservations WHERE name = ?1 AND owner_token = ?2");
    const std::string op = "release create reservation '" + name + "'";
    if (!del.ok()) return unexpected(database_error(op, del.errmsg()));
    del.bind_text(1, name);
    del.bind_text(2, token);
    if (del.step() != SQLITE_DONE) return unexpected(database_error(op, del.errmsg()));
  }
  if (!tx.commit()) return unexpected(database_error("commit reserved vm", sqlite3_errmsg(db_)));
  return inserted;
}

Done StateDb::release_vm_create_reservation(const std::string& name, const std::string& token) {
  Stmt del(db_, "DELETE FROM vm_create_reservations WHERE name = ?1 AND owner_token = ?2");
  const std::string op = "release create reservation '" + name + "'";
  if (!del.ok()) return database_error(op, del.errmsg());
  del.bind_text(1, name);
  del.bind_text(2, token);
  if (del.step() != SQLITE_DONE) return database_error(op, del.errmsg());
  return std::nullopt;
}

}  // namespace bs::sim
