// Last valid spec texts (schema v2).
#include "store/state_store.h"

namespace bs::store {

bs::Expected<std::vector<SavedSpec>, StoreError> StateStore::saved_specs() {
  auto stmt = conn_->prepare("SELECT bottle, path, text, saved_ms FROM last_valid_specs ORDER BY bottle");
  if (!stmt) return bs::unexpected(stmt.error());
  std::vector<SavedSpec> out;
  for (;;) {
    auto row = stmt->step("reading saved specs");
    if (!row) return bs::unexpected(row.error());
    if (!*row) return out;
    out.push_back(SavedSpec{stmt->text(0), stmt->text(1), stmt->text(2), stmt->int64(3)});
  }
}

std::optional<StoreError> StateStore::save_spec(const SavedSpec& s) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  auto stmt = conn_->prepare(
      "INSERT INTO last_valid_specs (bottle, path, text, saved_ms) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (bottle) DO UPDATE SET path = excluded.path, text = excluded.text, saved_ms = excluded.saved_ms");
  if (!stmt) return stmt.error();
  stmt->bind(1, s.bottle).bind(2, s.path).bind(3, s.text).bind(4, s.saved_ms);
  if (auto err = stmt->run("saving the spec of bottle " + s.bottle)) return err;
  return txn->commit();
}

std::optional<StoreError> StateStore::forget_spec(const std::string& bottle) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  auto stmt = conn_->prepare("DELETE FROM last_valid_specs WHERE bottle = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, bottle);
  if (auto err = stmt->run("forgetting the spec of bottle " + bottle)) return err;
  return txn->commit();
}

}  // namespace bs::store
