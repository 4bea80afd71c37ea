#include "store/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "reconcile/quote.h"
#include "store/record_text.h"
#include "store/schema.h"

namespace bs::store {
namespace {

StoreError os_error(int err, const std::string& what) {
  StoreError::Kind kind = StoreError::Kind::Other;
  if (err == ENOSPC || err == EDQUOT) kind = StoreError::Kind::Full;
  if (err == EACCES || err == EPERM || err == EROFS) kind = StoreError::Kind::ReadOnly;
  return {kind, what + ": " + std::strerror(err)};
}

// mkdir -p, each directory created 0700: the state dir holds who owns which address and VM.
std::optional<StoreError> make_private_dirs(const std::string& dir) {
  for (std::size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) == 0) continue;
    if (errno != EEXIST) return os_error(errno, "cannot create the state directory " + prefix);
    struct stat st {};
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return StoreError{StoreError::Kind::Other,
                        "cannot use " + prefix + " for the state directory: not a directory"};
    }
  }
  return std::nullopt;
}

// SQLite creates files with 0644 and gives the -wal/-shm files the database file's mode, so the
// file is created 0600 first.
std::optional<StoreError> create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return os_error(errno, "cannot create " + path);
  ::close(fd);
  return std::nullopt;
}

std::optional<StoreError> configure(Connection& conn) {
  // The busy timeout first, so the pragmas below wait (briefly) for a writer instead of failing.
  if (auto err = conn.exec("PRAGMA busy_timeout = 100", "setting the busy timeout")) return err;
  auto mode = conn.prepare("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  auto row = mode->step("switching to WAL");
  if (!row) return row.error();
  if (!*row || mode->text(0) != "wal") {
    return StoreError{StoreError::Kind::Other,
                      "cannot put " + conn.path() + " in WAL mode (is it on a network filesystem?)"};
  }
  return conn.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "configuring the database");
}

// A row whose text does not convert fails the whole read (state_store.h says why), with what a
// user needs to find and fix it.
StoreError bad_value(const std::string& db, const char* table, const char* key_column, const std::string& key,
                     const char* column, const std::string& why) {
  return {StoreError::Kind::BadValue, db + ": table " + table + ", " + key_column + " " + bs::quoted(key) +
                                          ", column " + column + ": " + why +
                                          "; this build cannot read that row: correct or delete it"};
}

}  // namespace

bs::Expected<StateStore, StoreError> StateStore::open(const std::string& state_dir) {
  if (state_dir.empty()) return bs::unexpected(StoreError{StoreError::Kind::Other, "no state directory given"});
  std::string dir = state_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (auto err = make_private_dirs(dir)) return bs::unexpected(*err);
  return open_file(dir + "/state.db");
}

bs::Expected<StateStore, StoreError> StateStore::open_file(const std::string& path) {
  if (auto err = create_private_file(path)) return bs::unexpected(*err);
  auto conn = Connection::open(path);
  if (!conn) return bs::unexpected(conn.error());
  if (auto err = configure(**conn)) return bs::unexpected(*err);
  if (auto err = migrate(**conn)) return bs::unexpected(*err);
  return StateStore(std::move(*conn));
}

bs::Expected<StateStore, StoreError> StateStore::open_read_only(const std::string& state_dir) {
  std::string dir = state_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return bs::unexpected(StoreError{StoreError::Kind::Missing, "the state directory " + dir + " does not exist"});
    }
    return bs::unexpected(os_error(errno, "cannot use the state directory " + dir));
  }
  if (!S_ISDIR(st.st_mode)) {
    return bs::unexpected(StoreError{StoreError::Kind::Other, "the state directory " + dir + " is not a directory"});
  }
  const std::string path = dir + "/state.db";
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return bs::unexpected(StoreError{StoreError::Kind::Missing,
                                       path + " does not exist (the daemon creates it when it first runs)"});
    }
    return bs::unexpected(os_error(errno, "cannot use " + path));
  }
  auto conn = Connection::open(path, Connection::Access::ReadOnly);
  if (!conn) return bs::unexpected(conn.error());
  if (auto err = (*conn)->exec("PRAGMA busy_timeout = 100", "setting the busy timeout")) return bs::unexpected(*err);
  auto version = (*conn)->query_int("PRAGMA user_version", "reading the schema version");
  if (!version) return bs::unexpected(version.error());
  const auto& migrations = schema_migrations();
  if (*version == 0 || migrations.empty() || *version > migrations.back().version) {
    return bs::unexpected(StoreError{StoreError::Kind::Other,
                                     path + " has schema version " + std::to_string(*version) + ", this build reads 1.." +
                                         std::to_string(migrations.empty() ? 0 : migrations.back().version)});
  }
  StateStore store(std::move(*conn));
  store.file_known_ = false;  // a reader never rewrites a deleted state.db
  return store;
}

StateStore::StateStore(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) { remember_file_identity(); }

// --- leases ------------------------------------------------------------------------------------

bs::Expected<std::vector<Lease>, StoreError> StateStore::leases() {
  auto stmt = conn_->prepare("SELECT bottle, address, acquired_ms FROM leases ORDER BY bottle");
  if (!stmt) return bs::unexpected(stmt.error());
  std::vector<Lease> out;
  for (;;) {
    auto row = stmt->step("reading leases");
    if (!row) return bs::unexpected(row.error());
    if (!*row) return out;
    const std::string bottle = stmt->text(0);
    auto address = address_from_text(stmt->text(1));
    if (!address) return bs::unexpected(bad_value(path(), "leases", "bottle", bottle, "address", address.error()));
    out.push_back(Lease{bottle, *address, stmt->int64(2)});
  }
}

std::optional<StoreError> StateStore::put_lease(const Lease& l) {
  const std::string address = l.address.str();
  auto txn = begin_write();
  if (!txn) return txn.error();
  {
    auto holder = conn_->prepare("SELECT bottle FROM leases WHERE address = ?1 AND bottle <> ?2");
    if (!holder) return holder.error();
    holder->bind(1, address).bind(2, l.bottle);
    auto row = holder->step("checking the lease of " + address);
    if (!row) return row.error();
    if (*row) {
      return StoreError{StoreError::Kind::Conflict,
                        "address " + address + " is already leased to bottle " + holder->text(0)};
    }
  }
  auto put = conn_->prepare(
      "INSERT INTO leases (bottle, address, acquired_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (bottle) DO UPDATE SET address = excluded.address, acquired_ms = excluded.acquired_ms");
  if (!put) return put.error();
  put->bind(1, l.bottle).bind(2, address).bind(3, l.acquired_ms);
  if (auto err = put->run("recording the lease of bottle " + l.bottle)) return err;
  return txn->commit();
}

std::optional<StoreError> StateStore::release_lease(const std::string& bottle) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  auto stmt = conn_->prepare("DELETE FROM leases WHERE bottle = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, bottle);
  if (auto err = stmt->run("releasing the lease of bottle " + bottle)) return err;
  return txn->commit();
}

// --- managed machines --------------------------------------------------------------------------

bs::Expected<std::vector<ManagedMachine>, StoreError> StateStore::machines() {
  auto stmt = conn_->prepare(
      "SELECT machine, bottle, origin, on_remove, fingerprint, since_ms FROM machines ORDER BY machine");
  if (!stmt) return bs::unexpected(stmt.error());
  std::vector<ManagedMachine> out;
  for (;;) {
    auto row = stmt->step("reading managed machines");
    if (!row) return bs::unexpected(row.error());
    if (!*row) return out;
    const std::string machine = stmt->text(0);
    auto origin = origin_from_text(stmt->text(2));
    if (!origin) return bs::unexpected(bad_value(path(), "machines", "machine", machine, "origin", origin.error()));
    auto on_remove = on_remove_from_text(stmt->text(3));
    if (!on_remove) {
      return bs::unexpected(bad_value(path(), "machines", "machine", machine, "on_remove", on_remove.error()));
    }
    out.push_back(ManagedMachine{machine, stmt->text(1), *origin, *on_remove, stmt->text(4), stmt->int64(5)});
  }
}

std::optional<StoreError> StateStore::put_machine(const ManagedMachine& m) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  // An upsert, not INSERT OR REPLACE: a REPLACE deletes the row first, which would cascade to
  // the machine's verified VM.
  auto stmt = conn_->prepare(
      "INSERT INTO machines (machine, bottle, origin, on_remove, fingerprint, since_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (machine) DO UPDATE SET bottle = excluded.bottle, "
      "origin = excluded.origin, on_remove = excluded.on_remove, fingerprint = excluded.fingerprint, "
      "since_ms = excluded.since_ms");
  if (!stmt) return stmt.error();
  stmt->bind(1, m.machine).bind(2, m.bottle).bind(3, to_string(m.origin)).bind(4, to_string(m.on_remove))
      .bind(5, m.fingerprint).bind(6, m.since_ms);
  if (auto err = stmt->run("recording managed machine " + m.machine)) return err;
  return txn->commit();
}

std::optional<StoreError> StateStore::forget_machine(const std::string& machine) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  // Explicit rather than left to ON DELETE CASCADE, which only acts while foreign_keys is on.
  for (const char* sql : {"DELETE FROM verified_vms WHERE machine = ?1", "DELETE FROM machines WHERE machine = ?1"}) {
    auto stmt = conn_->prepare(sql);
    if (!stmt) return stmt.error();
    stmt->bind(1, machine);
    if (auto err = stmt->run("forgetting machine " + machine)) return err;
  }
  return txn->commit();
}

// --- verified VMs ------------------------------------------------------------------------------

bs::Expected<std::vector<VerifiedVm>, StoreError> StateStore::verified_vms() {
  auto stmt = conn_->prepare(
      "SELECT machine, pid, start_time, allowlist, verified_ms FROM verified_vms ORDER BY machine");
  if (!stmt) return bs::unexpected(stmt.error());
  std::vector<VerifiedVm> out;
  for (;;) {
    auto row = stmt->step("reading verified VMs");
    if (!row) return bs::unexpected(row.error());
    if (!*row) return out;
    const std::string machine = stmt->text(0);
    auto allowlist = allowlist_from_text(stmt->text(3));
    if (!allowlist) {
      return bs::unexpected(bad_value(path(), "verified_vms", "machine", machine, "allowlist", allowlist.error()));
    }
    out.push_back(VerifiedVm{machine, stmt->int64(1), static_cast<std::uint64_t>(stmt->int64(2)),
                             std::move(*allowlist), stmt->int64(4)});
  }
}

std::optional<StoreError> StateStore::put_verified_vm(const VerifiedVm& v) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  {
    auto managed = conn_->prepare("SELECT 1 FROM machines WHERE machine = ?1");
    if (!managed) return managed.error();
    managed->bind(1, v.machine);
    auto row = managed->step("checking machine " + v.machine);
    if (!row) return row.error();
    if (!*row) {
      return StoreError{StoreError::Kind::Other, "cannot record a verified VM for machine " + v.machine +
                                                     ": the supervisor does not manage it"};
    }
  }
  auto stmt = conn_->prepare(
      "INSERT INTO verified_vms (machine, pid, start_time, allowlist, verified_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (machine) DO UPDATE SET pid = excluded.pid, start_time = excluded.start_time, "
      "allowlist = excluded.allowlist, verified_ms = excluded.verified_ms");
  if (!stmt) return stmt.error();
  // start_time is stored as INTEGER's int64 bit pattern and converted back on read.
  stmt->bind(1, v.machine).bind(2, v.pid).bind(3, static_cast<std::int64_t>(v.start_time))
      .bind(4, allowlist_text(v.allowlist)).bind(5, v.verified_ms);
  if (auto err = stmt->run("recording the verified VM of machine " + v.machine)) return err;
  return txn->commit();
}

std::optional<StoreError> StateStore::clear_verified_vm(const std::string& machine) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  auto stmt = conn_->prepare("DELETE FROM verified_vms WHERE machine = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, machine);
  if (auto err = stmt->run("clearing the verified VM of machine " + machine)) return err;
  return txn->commit();
}

}  // namespace bs::store
