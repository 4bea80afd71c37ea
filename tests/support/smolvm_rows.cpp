#include "support/smolvm_rows.h"

#include <stdexcept>

namespace bs::test {
namespace {

StoredRow row_of(const Statement& s) {
  StoredRow r;
  r.name = s.bytes(0).value_or("");
  r.blob = s.type(1) == SQLITE_BLOB;
  r.data = s.bytes(1).value_or("");
  return r;
}

SqliteDb writer(const std::string& db_path) {
  auto db = SqliteDb::open_existing(db_path, SqliteDb::Mode::ReadWrite, kSmolvmBusyTimeoutMs);
  if (!db) throw std::runtime_error("no smolvm DB at " + db_path);
  return std::move(*db);
}

}  // namespace

nlohmann::json StoredRow::json() const { return nlohmann::json::parse(data); }

std::optional<StoredRow> SmolvmRows::row(const std::string& name) {
  Statement s(db_.get(), "SELECT name, data FROM vms WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return row_of(s);
}

std::vector<StoredRow> SmolvmRows::rows() {
  Statement s(db_.get(), "SELECT name, data FROM vms ORDER BY name");
  std::vector<StoredRow> out;
  while (s.step()) out.push_back(row_of(s));
  return out;
}

std::string SmolvmRows::type_of(const std::string& name) {
  auto types = db_.column("SELECT typeof(data) FROM vms WHERE name = ?1", {name});
  return types.empty() ? "" : types.front().value_or("");
}

void SmolvmRows::put(const std::string& name, const std::string& data, Stored as) {
  Statement s(db_.get(),
              "INSERT INTO vms (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET data = excluded.data");
  s.bind(1, name).bind(2, as == Stored::Blob ? blob(data) : SqlValue(data));
  s.step();
}

void SmolvmRows::replace(const std::string& name, const std::string& data, Stored as) {
  Statement s(db_.get(), "UPDATE vms SET data = ?1 WHERE name = ?2");
  s.bind(1, as == Stored::Blob ? blob(data) : SqlValue(data)).bind(2, name);
  s.step();
  if (db_.changes() != 1) throw std::runtime_error("no row named " + name + " to write");
}

void SmolvmRows::update(const std::string& name, const std::function<void(nlohmann::ordered_json&)>& mutate) {
  Transaction tx(db_);
  auto current = row(name);
  if (!current) throw std::runtime_error("no row named " + name);
  // Key order kept, as smolvm serialises the record.
  auto record = nlohmann::ordered_json::parse(current->data);
  mutate(record);
  replace(name, record.dump(), Stored::Blob);
  tx.commit();
}

void SmolvmRows::remove(const std::string& name) {
  Statement s(db_.get(), "DELETE FROM vms WHERE name = ?1");
  s.bind(1, name);
  s.step();
  if (db_.changes() != 1) throw std::runtime_error("no row named " + name + " to delete");
}

std::optional<StoredRow> read_row(const std::string& db_path, const std::string& machine) {
  auto db = SqliteDb::open_existing(db_path, SqliteDb::Mode::ReadOnly, kSmolvmBusyTimeoutMs);
  if (!db) return std::nullopt;
  return SmolvmRows(*db).row(machine);
}

std::vector<StoredRow> read_rows(const std::string& db_path) {
  auto db = SqliteDb::open_existing(db_path, SqliteDb::Mode::ReadOnly, kSmolvmBusyTimeoutMs);
  if (!db) return {};
  return SmolvmRows(*db).rows();
}

void update_row(const std::string& db_path, const std::string& machine,
                const std::function<void(nlohmann::ordered_json&)>& mutate) {
  SqliteDb db = writer(db_path);
  SmolvmRows(db).update(machine, mutate);
}

void set_allowed_cidrs(const std::string& db_path, const std::string& machine, const nlohmann::json& value) {
  update_row(db_path, machine, [&](nlohmann::ordered_json& record) {
    record["allowed_cidrs"] = nlohmann::ordered_json::parse(value.dump());
  });
}

void write_row_text(const std::string& db_path, const std::string& machine, const std::string& data) {
  SqliteDb db = writer(db_path);
  Transaction tx(db);
  SmolvmRows(db).replace(machine, data, Stored::Text);
  tx.commit();
}

void write_row_blob(const std::string& db_path, const std::string& machine, const std::string& bytes) {
  SqliteDb db = writer(db_path);
  SmolvmRows(db).replace(machine, bytes, Stored::Blob);
}

void delete_row(const std::string& db_path, const std::string& machine) {
  SqliteDb db = writer(db_path);
  SmolvmRows(db).remove(machine);
}

}  // namespace bs::test
