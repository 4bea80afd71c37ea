// The supervisor's own state: loopback leases, the machines it manages, the VMs it started and
// verified, and the audit log. SQLite in WAL mode at <state_dir>/state.db, so the CLI can read
// (`events`) while the daemon writes; a short busy timeout keeps either side from blocking the
// other for long (a Busy error means "retry later", never a wait).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"
#include "reconcile/spec.h"
#include "store/connection.h"
#include "store/store_error.h"

namespace bs::store {

// The records are typed; the store converts at its boundary, and each column keeps the text it
// always had (store/record_text.h), so state DBs written by earlier builds read unchanged. A row
// whose text does not convert (a hand-edited address, an unknown origin) fails the whole read
// with a BadValue error naming the table, the row's key and the value: a partial list would be
// taken for the whole truth (a lease left out is an address handed out twice).
struct Lease {
  std::string bottle;
  Ipv4 address;  // column: dotted quad, e.g. "127.0.0.16"
  std::int64_t acquired_ms = 0;
};

// How a machine came to be managed: the supervisor created it, or took in one that existed.
enum class Origin { Created, Adopted };
std::string_view to_string(Origin o);  // "created" / "adopted", the column's text

struct ManagedMachine {
  std::string machine;
  std::string bottle;
  Origin origin = Origin::Created;
  OnRemove on_remove = OnRemove::Delete;  // column: "delete" | "keep"
  std::string fingerprint;                // image/from/cpus/memory it was created with
  std::int64_t since_ms = 0;
};

struct VerifiedVm {
  std::string machine;
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22 (clock ticks since boot)
  Allowlist allowlist;           // the booted policy that was verified; canonical when read back
  std::int64_t verified_ms = 0;
};

// kind stays text: the log is read by `events` of any version, and a log written by a newer
// daemon may hold kinds this build does not know; they are shown and filtered as written.
struct Event {
  std::int64_t id = 0;
  std::int64_t ts_ms = 0;
  std::string bottle, machine, kind, detail;
};

// The text of a bottle's last valid spec.
struct SavedSpec {
  std::string bottle, path, text;
  std::int64_t saved_ms = 0;
};

class StateStore {
 public:
  static constexpr std::int64_t kEventsKept = 100'000;

  // Creates <state_dir> (0700, parents too) and state.db (0600) when missing, and migrates it.
  static bs::Expected<StateStore, StoreError> open(const std::string& state_dir);
  // For readers (`events`): never creates, migrates or writes anything; a missing state dir or
  // state.db is a Missing error naming it. Only the read methods may be used.
  static bs::Expected<StateStore, StoreError> open_read_only(const std::string& state_dir);

  const std::string& path() const { return conn_->path(); }

  // Leases: one per bottle, an address held by one bottle at most.
  bs::Expected<std::vector<Lease>, StoreError> leases();
  // Inserts or replaces this bottle's lease; an address held by another bottle is a Conflict
  // whose message names the holder.
  [[nodiscard]] std::optional<StoreError> put_lease(const Lease& l);
  [[nodiscard]] std::optional<StoreError> release_lease(const std::string& bottle);

  // Machines the supervisor manages (created or adopted), keyed by machine name.
  bs::Expected<std::vector<ManagedMachine>, StoreError> machines();
  [[nodiscard]] std::optional<StoreError> put_machine(const ManagedMachine& m);
  // Also drops the machine's VerifiedVm.
  [[nodiscard]] std::optional<StoreError> forget_machine(const std::string& machine);

  // VMs the supervisor started (or found running) and verified. Only a managed machine can have
  // one: put_verified_vm for any other machine is an error.
  bs::Expected<std::vector<VerifiedVm>, StoreError> verified_vms();
  [[nodiscard]] std::optional<StoreError> put_verified_vm(const VerifiedVm& v);
  [[nodiscard]] std::optional<StoreError> clear_verified_vm(const std::string& machine);

  // The text of each bottle's last valid spec, by bottle.
  bs::Expected<std::vector<SavedSpec>, StoreError> saved_specs();
  [[nodiscard]] std::optional<StoreError> save_spec(const SavedSpec& s);
  [[nodiscard]] std::optional<StoreError> forget_spec(const std::string& bottle);

  // The audit log (CONTRACT §9). Appending assigns the id (ids only grow) and trims the log to
  // the last kEventsKept events in the same transaction.
  [[nodiscard]] std::optional<StoreError> append_event(const Event& e);
  // Oldest first. bottle: "" = all; since_ms: 0 = all, else ts_ms >= since_ms; after_id: only
  // ids greater (for --follow); limit: at most that many, the oldest matching; 0 = no limit.
  bs::Expected<std::vector<Event>, StoreError> events(const std::string& bottle, std::int64_t since_ms,
                                                      std::int64_t after_id, std::size_t limit);
  // The newest event's id, 0 when the log is empty (where `events --follow` starts).
  bs::Expected<std::int64_t, StoreError> last_event_id();

  // Groups several mutations into one transaction (BEGIN IMMEDIATE ... COMMIT): `body` returns
  // std::optional<StoreError>; an error (or an exception) rolls everything back. Mutations made
  // inside keep their own all-or-nothing behaviour (each is a savepoint).
  template <class F>
  [[nodiscard]] std::optional<StoreError> transaction(F&& body) {
    auto txn = begin_write();
    if (!txn) return txn.error();
    if (std::optional<StoreError> err = std::forward<F>(body)()) return err;  // ~WriteTxn rolls back
    return txn->commit();
  }

  // state.db deleted or replaced under the running daemon (store/state_file.cpp). Before every
  // write the path is compared (device and inode) with the file opened; when the file is gone,
  // a fresh state.db is written from the still-open (unlinked) copy with VACUUM INTO and the
  // store switches to it, so nothing written before or after is lost. A path that now holds
  // another file is never overwritten: the store keeps writing to its own copy and says so.
  // `problem()`: the last such incident, for status; the callback is told each one (to log it).
  const std::optional<std::string>& file_problem() const { return file_problem_; }
  void on_file_problem(std::function<void(const std::string&)> report) { report_ = std::move(report); }
  // Checks now (the writes check by themselves); for status and tests.
  void check_file();

 private:
  explicit StateStore(std::unique_ptr<Connection> conn);
  static bs::Expected<StateStore, StoreError> open_file(const std::string& path);
  bs::Expected<WriteTxn, StoreError> begin_write();
  void remember_file_identity();
  std::optional<std::string> restore_file();  // error text, nullopt when restored
  void set_file_problem(std::string message);

  std::unique_ptr<Connection> conn_;
  std::uint64_t file_device_ = 0, file_inode_ = 0;  // of state.db as opened
  bool file_known_ = false;
  std::optional<std::string> file_problem_;
  std::string last_reported_;
  std::function<void(const std::string&)> report_;
};

// "2026-11-29T12:00:00Z": UTC, whole seconds (the fraction is dropped, rounding towards the past),
// which is what `events --json` and `status --json` print.
std::string format_rfc3339(std::int64_t ms);

}  // namespace bs::store
