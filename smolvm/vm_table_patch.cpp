// The guarded patch: a compare-and-swap on the whole record bytes inside BEGIN IMMEDIATE, so a
// write by smolvm between our read and our write makes ours match nothing and retry from a fresh
// read, instead of silently undoing smolvm's change (or smolvm's undoing ours going unnoticed:
// that is what the re-read is for).
#include "smolvm/strict_json.h"
#include "smolvm/vm_table.h"
#include "smolvm/vm_table_connection.h"

namespace bs::smolvm {
namespace {

std::string describe(const RecordPatch& patch) {
  std::string s;
  if (patch.allowed_cidrs) {
    s += "allowed_cidrs=[";
    for (std::size_t i = 0; i < patch.allowed_cidrs->size(); ++i) {
      s += (i ? "," : "") + printable((*patch.allowed_cidrs)[i]);
    }
    s += "]";
  }
  if (patch.network) s += std::string(s.empty() ? "" : " ") + "network=" + (*patch.network ? "true" : "false");
  return s;
}

PatchResult from_db_error(const DbError& e) {
  return {e.kind == DbError::Kind::Busy ? PatchOutcome::Busy : PatchOutcome::Failed, e.message, {}};
}

}  // namespace

PatchResult VmTable::patch(const std::string& name, const RecordPatch& patch) {
  const std::string subject = "machine '" + printable(name) + "' in smolvm DB " + c_->path;
  MachineRow last;
  for (int attempt = 0; attempt <= kVmTablePatchRetries; ++attempt) {
    auto read = read_one(name);
    if (!read) return from_db_error(read.error());
    if (!*read) return {PatchOutcome::RowMissing, "no row for " + subject, {}};
    last = std::move(**read);
    if (last.problem != MachineRow::Problem::None) {
      return {PatchOutcome::RowUnreadable, "not patching " + subject + ": " + last.problem_detail, last};
    }
    auto applied = patch_is_applied(last.raw, patch);
    if (!applied) return {PatchOutcome::RowUnreadable, "not patching " + subject + ": " + applied.error(), last};
    if (*applied) return {PatchOutcome::AlreadyEqual, subject + " already has " + describe(patch), last};
    auto patched = apply_patch(last.raw, patch);
    if (!patched) return {PatchOutcome::Failed, "cannot patch " + subject + ": " + patched.error(), last};

    if (c_->before_write) c_->before_write();

    WriteTransaction tx(c_->db);
    if (int rc = tx.begin(); rc != SQLITE_OK) return from_db_error(c_->error(rc, "BEGIN IMMEDIATE"));
    int changed = 0;
    {
      StatementUse use(c_->update);
      sqlite3_stmt* s = use.get();
      // All bound as BLOB: smolvm reads data with as_blob() and fails on TEXT (reference §1.4).
      sqlite3_bind_blob(s, 1, patched->data(), static_cast<int>(patched->size()), SQLITE_TRANSIENT);
      sqlite3_bind_text(s, 2, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(s, 3, last.raw.data(), static_cast<int>(last.raw.size()), SQLITE_TRANSIENT);
      int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) return from_db_error(c_->error(rc, "updating " + printable(name)));
      changed = sqlite3_changes(c_->db);
    }
    if (changed == 0) continue;  // changed (or deleted) since our read: the transaction rolls back
    if (int rc = tx.commit(); rc != SQLITE_OK) return from_db_error(c_->error(rc, "COMMIT"));

    auto reread = read_one(name);
    if (!reread) return {PatchOutcome::NotVerified, "wrote " + subject + " but cannot re-read it: " + reread.error().message, last};
    if (!*reread) return {PatchOutcome::NotVerified, "wrote " + subject + " but the row is gone now", {}};
    MachineRow after = std::move(**reread);
    auto holds = patch_is_applied(after.raw, patch);
    if (after.problem != MachineRow::Problem::None || !holds || !*holds) {
      return {PatchOutcome::NotVerified,
              "wrote " + subject + " but re-reading does not show " + describe(patch), after};
    }
    return {PatchOutcome::Patched, "patched " + subject + ": " + describe(patch), after};
  }
  return {PatchOutcome::Conflict,
          subject + " kept changing under the patch (" + std::to_string(kVmTablePatchRetries + 1) +
              " attempts); will retry later",
          last};
}

}  // namespace bs::smolvm
