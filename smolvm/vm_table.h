// smolvm's `vms` table, read and patched through ONE long-lived sqlite3 connection: PRAGMA
// data_version on that connection then changes only for other processes' commits, so our own
// patches never wake us up again. The connection never creates the DB, never changes its
// journal mode, never checkpoints (anchors B.3: only smolvm does), and never holds a transaction
// past the call that began it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/expected.h"
#include "smolvm/record.h"

namespace bs::smolvm {

struct DbError {
  enum class Kind { Missing, NoVmsTable, Busy, Replaced, Other };
  Kind kind;
  std::string message;  // names the DB path
};

struct MachineRow {
  std::string name;  // vms.name
  enum class Problem { None, TextTyped, Unparseable } problem = Problem::None;
  std::string problem_detail;  // e.g. "data is TEXT, smolvm cannot read it" / the parse error
  std::string raw;             // the data bytes as stored
  MachineRecord record;        // valid only when problem == None
  int name_type = 0, data_type = 0;  // SQLite's storage classes (smolvm: TEXT, BLOB)
};

// Rows of an earlier read, by name.
using KnownRows = std::map<std::string, MachineRow>;

// How the table differs from KnownRows: rows new or changed (bytes or storage class), parsed,
// and the names no longer there.
struct RowChanges {
  std::vector<MachineRow> changed;
  std::vector<std::string> removed;
};

enum class PatchOutcome { Patched, AlreadyEqual, RowMissing, RowUnreadable, Busy, Conflict, NotVerified, Failed };

struct PatchResult {
  PatchOutcome outcome;
  std::string message;
  MachineRow after;  // the row as last read (re-read after a write), when one was read
};

// How long a statement waits for another process's lock before giving up with Busy. Short on
// purpose: the caller runs on the event loop and retries later (smolvm itself waits 15 s). It also
// bounds open(): its schema read runs under it.
inline constexpr int kVmTableBusyTimeoutMs = 100;

// Guarded patch attempts: the first, plus this many retries after a concurrent change.
inline constexpr int kVmTablePatchRetries = 5;

class VmTable {
 public:
  // Opens an existing DB read-write without SQLITE_OPEN_CREATE (a missing file is Missing and no
  // file is created) and checks that `vms` exists (NoVmsTable otherwise).
  static bs::Expected<VmTable, DbError> open(const std::string& db_path);

  VmTable(VmTable&&) noexcept;
  VmTable& operator=(VmTable&&) noexcept;
  ~VmTable();

  const std::string& path() const;

  // PRAGMA data_version on this connection: changes only when ANOTHER connection committed.
  bs::Expected<std::uint64_t, DbError> data_version();

  // True when the file at path() is no longer the one opened (inode/dev changed, or deleted), or
  // its -wal or -shm file was deleted or replaced: the caller should reopen. Reads and patches
  // refuse with Replaced meanwhile.
  bool replaced() const;

  // Why smolvm itself could not use the DB file as it is now although this (already open)
  // connection still can, e.g. after `chmod 000` (root reads it anyway); nullopt when usable.
  std::optional<DbError> access_problem() const;

  // All rows in one query (one short read transaction). Rows smolvm could not read (data TEXT
  // typed, not a record, name mismatch) are reported with Problem set, never guessed at.
  bs::Expected<std::vector<MachineRow>, DbError> read_all();
  // The same query, compared with `known` in place: only rows whose bytes or storage classes
  // differ are copied and parsed. Each commit (ours included) moves data_version, and the
  // supervisor re-reads the table each time: 1,000 unchanged rows then cost a memcmp each.
  bs::Expected<RowChanges, DbError> read_changes(const KnownRows& known);
  bs::Expected<std::optional<MachineRow>, DbError> read_one(const std::string& name);

  // Guarded patch: read -> apply_patch -> BEGIN IMMEDIATE -> UPDATE ... WHERE name=? AND data=?old
  // (a concurrent change makes it match nothing: retry from the read, then Conflict) -> COMMIT ->
  // re-read and verify. Unreadable rows are never overwritten.
  PatchResult patch(const std::string& name, const RecordPatch& patch);

  // Test hook: called between the read and the BEGIN IMMEDIATE of each patch attempt.
  void set_before_write_hook(std::function<void()> hook);

 private:
  struct Connection;
  explicit VmTable(std::unique_ptr<Connection> c);
  std::unique_ptr<Connection> c_;
};

const char* to_string(PatchOutcome outcome);

}  // namespace bs::smolvm
