// smolvm's state DB (src/db.rs) as the sim writes it: opened by every command with busy_timeout
// 15 s first, then WAL + synchronous=NORMAL, then the full schema. The operations keep smolvm's
// transaction shapes, because supervisors race against exactly these: insert_vm is a blind
// whole-record upsert, update_vm a BEGIN IMMEDIATE read-modify-write, remove_vm a deferred
// read-then-delete.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "reconcile/expected.h"
#include "tools/smolvm-sim/sim_error.h"
#include "tools/smolvm-sim/vm_record.h"

namespace bs::sim {

template <class T>
using Result = Expected<T, SimError>;
using Done = std::optional<SimError>;  // nullopt on success

class StateDb {
 public:
  // SmolvmDb::open_at: create_dir_all(parent), open, busy_timeout, pragmas, schema.
  static Result<StateDb> open(const std::string& path);

  StateDb(StateDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  StateDb& operator=(StateDb&&) = delete;
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;
  ~StateDb();

  // get_vm: one row, nullopt when absent.
  Result<std::optional<VmRecord>> get_vm(const std::string& name);
  // list_vms / load_all: every row, each deserialised; one unreadable row fails the whole call.
  Result<std::vector<std::pair<std::string, VmRecord>>> list_vms();
  // insert_vm: INSERT ... ON CONFLICT(name) DO UPDATE SET data = excluded.data.
  Done insert_vm(const std::string& name, const VmRecord& record);
  // update_vm: BEGIN IMMEDIATE; read; mutate; UPDATE; COMMIT. Returns whether the row existed.
  Result<bool> update_vm(const std::string& name, const std::function<void(VmRecord&)>& mutate);
  // remove_vm: deferred tx; read (must deserialise); DELETE row + fork_pool_snapshots.
  Result<bool> remove_vm(const std::string& name);

  // Create reservations (§4.2 of the reference): reserve, commit, release.
  Result<bool> reserve_vm_create(const std::string& name, const std::string& token);
  Result<bool> commit_reserved_vm(const std::string& name, const std::string& token,
                                  const VmRecord& record);
  Done release_vm_create_reservation(const std::string& name, const std::string& token);

 private:
  explicit StateDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// "<pid>-<unix_secs>-<unix_nanos>", as SmolvmDb::create_reservation_token.
std::string create_reservation_token();

}  // namespace bs::sim
