#include "smolvm/vm_table.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "smolvm/strict_json.h"
#include "smolvm/vm_table_connection.h"

namespace bs::smolvm {
namespace {

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

std::string column_bytes(sqlite3_stmt* stmt, int col) {
  const void* p = sqlite3_column_blob(stmt, col);
  int n = sqlite3_column_bytes(stmt, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

const char* type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

FileId file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino};
}

// smolvm runs as the file's owner: a mode that denies the owner reading or writing stops smolvm
// even where we (root) could still read. Otherwise ask the kernel for our own access.
std::optional<DbError> access_problem_of(const std::string& path, const struct stat& st) {
  if ((st.st_mode & (S_IRUSR | S_IWUSR)) != (S_IRUSR | S_IWUSR)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return DbError{DbError::Kind::Other, "smolvm DB " + path + " is not readable and writable by its owner (mode " +
                                             mode + "): smolvm cannot use it"};
  }
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    return DbError{DbError::Kind::Other, "smolvm DB " + path + ": " + std::strerror(errno)};
  }
  return std::nullopt;
}

}  // namespace

DbError VmTable::Connection::error(int rc, const std::string& what) const {
  DbError e{is_busy(rc) ? DbError::Kind::Busy : DbError::Kind::Other, ""};
  e.message = "smolvm DB " + path + ": " + what + ": ";
  e.message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (e.kind == DbError::Kind::Busy) e.message += " (another process holds the lock; retrying later)";
  return e;
}

std::optional<DbError> VmTable::Connection::check_not_replaced(bool is_replaced) const {
  if (!is_replaced) return std::nullopt;
  return DbError{DbError::Kind::Replaced,
                 "smolvm DB " + path + " was deleted or replaced since it was opened; reopen it"};
}

namespace {

// name_type and data_type: sqlite3_column_type of both columns, read before any bytes (reading a
// column as bytes may convert it, and the stored type is the point).
MachineRow row_from_typed(sqlite3_stmt* stmt, int name_type, int data_type) {
  MachineRow row;
  row.name_type = name_type;
  row.data_type = data_type;
  row.name = column_bytes(stmt, 0);
  row.raw = column_bytes(stmt, 1);

  if (name_type != SQLITE_TEXT) {
    row.problem = MachineRow::Problem::Unparseable;
    row.problem_detail = std::string("name is ") + type_name(name_type) + ", smolvm cannot read it";
    return row;
  }
  if (data_type == SQLITE_TEXT) {
    row.problem = MachineRow::Problem::TextTyped;
    row.problem_detail = "data is TEXT, smolvm cannot read it (it must be a BLOB)";
    return row;
  }
  if (data_type != SQLITE_BLOB) {
    row.problem = MachineRow::Problem::Unparseable;
    row.problem_detail = std::string("data is ") + type_name(data_type) + ", smolvm cannot read it";
    return row;
  }
  auto record = parse_record(row.raw);
  if (!record) {
    row.problem = MachineRow::Problem::Unparseable;
    row.problem_detail = "record is not readable: " + record.error();
    return row;
  }
  if (record->name != row.name) {
    // smolvm uses vms.name in some paths and the JSON name in others (reference §1.4).
    row.problem = MachineRow::Problem::Unparseable;
    row.problem_detail = "record name '" + printable(record->name) + "' differs from the row name";
    return row;
  }
  row.record = std::move(*record);
  return row;
}

}  // namespace

MachineRow row_from(sqlite3_stmt* stmt) {
  const int name_type = sqlite3_column_type(stmt, 0);
  const int data_type = sqlite3_column_type(stmt, 1);
  return row_from_typed(stmt, name_type, data_type);
}

VmTable::VmTable(std::unique_ptr<Connection> c) : c_(std::move(c)) {}
VmTable::VmTable(VmTable&&) noexcept = default;
VmTable& VmTable::operator=(VmTable&&) noexcept = default;
VmTable::~VmTable() = default;

bs::Expected<VmTable, DbError> VmTable::open(const std::string& db_path) {
  auto c = std::make_unique<Connection>();
  c->path = db_path;
  struct stat before {};
  if (::stat(db_path.c_str(), &before) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return bs::unexpected(DbError{DbError::Kind::Missing,
                                    "smolvm DB " + db_path +
                                        " does not exist (smolvm creates it on first use; is the "
                                        "smolvm data dir right?)"});
    }
    return bs::unexpected(DbError{DbError::Kind::Other,
                                  "smolvm DB " + db_path + ": " + std::strerror(errno)});
  }
  if (!S_ISREG(before.st_mode)) {
    return bs::unexpected(DbError{DbError::Kind::Other, "smolvm DB " + db_path + " is not a regular file"});
  }
  if (auto problem = access_problem_of(db_path, before)) return bs::unexpected(*problem);

  // No SQLITE_OPEN_CREATE: creating smolvm's DB is smolvm's job (CONTRACT §6).
  int rc = sqlite3_open_v2(db_path.c_str(), &c->db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    if (::access(db_path.c_str(), F_OK) != 0) {
      return bs::unexpected(DbError{DbError::Kind::Missing, "smolvm DB " + db_path + " disappeared while opening"});
    }
    return bs::unexpected(c->error(rc, "cannot open"));
  }
  sqlite3_busy_timeout(c->db, kVmTableBusyTimeoutMs);
  // Only smolvm checkpoints: fewer concurrent checkpointers keeps us out of the WAL-reset race
  // (anchors B.3.1). Neither setting changes the file.
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  sqlite3_exec(c->db, "PRAGMA wal_autocheckpoint=0", nullptr, nullptr, nullptr);

  {
    SqliteStatement probe;
    rc = probe.prepare(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name='vms'");
    if (rc != SQLITE_OK) return bs::unexpected(c->error(rc, "cannot read the schema"));
    StatementUse use(probe);
    rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE) {
      // No table at all: smolvm's first command has created the file and not yet its schema
      // (a moment, on every fresh data dir). That is "no machines yet", like no DB, not a foreign
      // file: only a DB with other tables and no 'vms' is something we cannot verify against.
      SqliteStatement any;
      if (any.prepare(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' LIMIT 1") == SQLITE_OK) {
        StatementUse any_use(any);
        if (sqlite3_step(any_use.get()) == SQLITE_DONE) {
          return bs::unexpected(DbError{DbError::Kind::Missing, "smolvm DB " + db_path + " has no tables yet"});
        }
      }
      return bs::unexpected(DbError{DbError::Kind::NoVmsTable,
                                    "smolvm DB " + db_path +
                                        " has no 'vms' table (not a smolvm >= 0.6 state DB, or "
                                        "smolvm never ran with this data dir)"});
    }
    if (rc != SQLITE_ROW) return bs::unexpected(c->error(rc, "cannot read the schema"));
  }

  if ((rc = c->select_all.prepare(c->db, "SELECT name, data FROM vms ORDER BY name")) != SQLITE_OK ||
      (rc = c->select_one.prepare(c->db, "SELECT name, data FROM vms WHERE name = ?1")) != SQLITE_OK ||
      (rc = c->update.prepare(c->db, "UPDATE vms SET data = ?1 WHERE name = ?2 AND data = ?3")) != SQLITE_OK ||
      (rc = c->version.prepare(c->db, "PRAGMA data_version")) != SQLITE_OK) {
    return bs::unexpected(c->error(rc, "unexpected 'vms' table shape"));
  }

  struct stat after {};
  if (::stat(db_path.c_str(), &after) != 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
    return bs::unexpected(DbError{DbError::Kind::Replaced,
                                  "smolvm DB " + db_path + " was replaced while opening; retry"});
  }
  c->dev = before.st_dev;
  c->ino = before.st_ino;
  // The schema read above opened (or created) the -wal and -shm this connection now uses.
  c->wal = file_id(db_path + "-wal");
  c->shm = file_id(db_path + "-shm");
  return VmTable(std::move(c));
}

const std::string& VmTable::path() const { return c_->path; }

bool VmTable::replaced() const {
  struct stat now {};
  if (::stat(c_->path.c_str(), &now) != 0) return true;
  if (now.st_dev != c_->dev || now.st_ino != c_->ino) return true;
  if (!(file_id(c_->path + "-wal") == c_->wal) || !(file_id(c_->path + "-shm") == c_->shm)) return true;
  // Also ask SQLite about the descriptor it actually holds (unlinked or renamed underneath it).
  int moved = 0;
  if (sqlite3_file_control(c_->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0) {
    return true;
  }
  return false;
}

std::optional<DbError> VmTable::access_problem() const {
  struct stat now {};
  if (::stat(c_->path.c_str(), &now) != 0) return std::nullopt;  // gone: replaced() reports it
  return access_problem_of(c_->path, now);
}

bs::Expected<std::uint64_t, DbError> VmTable::data_version() {
  if (auto e = c_->check_not_replaced(replaced())) return bs::unexpected(*e);
  StatementUse use(c_->version);
  int rc = sqlite3_step(use.get());
  if (rc != SQLITE_ROW) return bs::unexpected(c_->error(rc, "PRAGMA data_version"));
  return static_cast<std::uint64_t>(sqlite3_column_int64(use.get(), 0));
}

bs::Expected<std::vector<MachineRow>, DbError> VmTable::read_all() {
  if (auto e = c_->check_not_replaced(replaced())) return bs::unexpected(*e);
  StatementUse use(c_->select_all);
  std::vector<MachineRow> rows;
  int rc;
  while ((rc = sqlite3_step(use.get())) == SQLITE_ROW) rows.push_back(row_from(use.get()));
  if (rc != SQLITE_DONE) return bs::unexpected(c_->error(rc, "reading the vms table"));
  return rows;
}

bs::Expected<RowChanges, DbError> VmTable::read_changes(const KnownRows& known) {
  if (auto e = c_->check_not_replaced(replaced())) return bs::unexpected(*e);
  StatementUse use(c_->select_all);
  RowChanges changes;
  std::unordered_set<const std::string*> seen;  // keys of `known` still in the table
  seen.reserve(known.size());
  int rc;
  while ((rc = sqlite3_step(use.get())) == SQLITE_ROW) {
    sqlite3_stmt* st = use.get();
    // Types first: reading a column as bytes converts it.
    const int name_type = sqlite3_column_type(st, 0);
    const int data_type = sqlite3_column_type(st, 1);
    const auto* name_p = static_cast<const char*>(sqlite3_column_blob(st, 0));
    const std::string_view name(name_p != nullptr ? name_p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    auto it = known.find(std::string(name));
    if (it != known.end()) {
      seen.insert(&it->first);
      const MachineRow& k = it->second;
      const auto* data = static_cast<const char*>(sqlite3_column_blob(st, 1));
      const auto n = static_cast<std::size_t>(sqlite3_column_bytes(st, 1));
      if (k.name_type == name_type && k.data_type == data_type && k.raw.size() == n &&
          (n == 0 || std::memcmp(k.raw.data(), data, n) == 0)) {
        continue;  // the same row
      }
    }
    changes.changed.push_back(row_from_typed(st, name_type, data_type));
  }
  if (rc != SQLITE_DONE) return bs::unexpected(c_->error(rc, "reading the vms table"));
  if (seen.size() != known.size()) {
    for (const auto& [name, _] : known) {
      if (seen.count(&name) == 0) changes.removed.push_back(name);
    }
  }
  return changes;
}

bs::Expected<std::optional<MachineRow>, DbError> VmTable::read_one(const std::string& name) {
  if (auto e = c_->check_not_replaced(replaced())) return bs::unexpected(*e);
  StatementUse use(c_->select_one);
  sqlite3_bind_text(use.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(use.get());
  if (rc == SQLITE_DONE) return std::optional<MachineRow>{};
  if (rc != SQLITE_ROW) return bs::unexpected(c_->error(rc, "reading machine '" + printable(name) + "'"));
  return std::optional<MachineRow>{row_from(use.get())};
}

void VmTable::set_before_write_hook(std::function<void()> hook) { c_->before_write = std::move(hook); }

const char* to_string(PatchOutcome outcome) {
  switch (outcome) {
    case PatchOutcome::Patched: return "patched";
    case PatchOutcome::AlreadyEqual: return "already-equal";
    case PatchOutcome::RowMissing: return "row-missing";
    case PatchOutcome::RowUnreadable: return "row-unreadable";
    case PatchOutcome::Busy: return "busy";
    case PatchOutcome::Conflict: return "conflict";
    case PatchOutcome::NotVerified: return "not-verified";
    case PatchOutcome::Failed: return "failed";
  }
  return "unknown";
}

}  // namespace bs::smolvm
