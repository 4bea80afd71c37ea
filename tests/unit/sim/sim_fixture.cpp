#include "unit/sim/sim_fixture.h"

#include <sys/wait.h>

#include <chrono>

#include "smolvm/sha256.h"
#include "support/smolvm_rows.h"
#include "support/vm_cleanup.h"

namespace bs::test {
namespace {

RunOptions options(const std::string& root, const std::map<std::string, std::string>& env,
                   std::optional<std::string> stdin_data) {
  Env set = env;
  set["SMOLVM_DATA_DIR"] = root;
  // Hermetic: only the knobs a test sets.
  return {inherited_env({"SMOLVM_SIM_", "XDG_"}, set), std::move(stdin_data), std::chrono::seconds(60)};
}

std::vector<std::string> sim_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv{sim_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

std::string sim_binary() { return BS_BUILD_DIR "/smolvm-sim"; }

SimHome::SimHome() : root_("bs-sim", "/tmp") { become_subreaper(); }

SimHome::~SimHome() {
  try {
    if (file_exists(db_path())) kill_row_vms(db_path());
  } catch (const std::exception&) {
    // A broken DB must not stop the rest of the cleanup.
  }
  for (auto [pid, st] : tracked_) kill_verified_and_reap(pid, st);
  // Backstop for a row that lies (wrong start time, row deleted): as the subreaper, every orphaned
  // VM is our child, and one whose boot config lies in this home is certainly one we started.
  kill_boot_vms_under(root());
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

std::string SimHome::vm_dir(const std::string& machine) const {
  return root() + "/.cache/smolvm/vms/" + bs::smolvm::sha256_hex(machine).substr(0, 16);
}

RunResult SimHome::sim(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                       std::optional<std::string> stdin_data) const {
  return run(sim_argv(args), options(root(), env, std::move(stdin_data)));
}

std::unique_ptr<RunningChild> SimHome::sim_background(const std::vector<std::string>& args,
                                                      const std::map<std::string, std::string>& env) const {
  return std::make_unique<RunningChild>(sim_argv(args), options(root(), env, std::nullopt));
}

SqliteDb SimHome::open_db() const { return SqliteDb(db_path(), SqliteDb::Mode::ReadWrite, 5000); }

std::optional<std::string> SimHome::row_bytes(const std::string& machine) const {
  SqliteDb db = open_db();
  auto row = SmolvmRows(db).row(machine);
  if (!row) return std::nullopt;
  return row->data;
}

std::string SimHome::row_type(const std::string& machine) const {
  SqliteDb db = open_db();
  return SmolvmRows(db).type_of(machine);
}

nlohmann::ordered_json SimHome::row(const std::string& machine) const {
  auto bytes = row_bytes(machine);
  if (!bytes) return nullptr;
  return nlohmann::ordered_json::parse(*bytes);
}

void SimHome::put_row_blob(const std::string& machine, const std::string& bytes) const {
  SqliteDb db = open_db();
  SmolvmRows(db).put(machine, bytes, Stored::Blob);
}

void SimHome::put_row_text(const std::string& machine, const std::string& text) const {
  SqliteDb db = open_db();
  SmolvmRows(db).put(machine, text, Stored::Text);
}

void SimHome::delete_row(const std::string& machine) const {
  SqliteDb db = open_db();
  db.column("DELETE FROM vms WHERE name = ?1", {machine});
}

std::vector<std::string> SimHome::sql_column(const std::string& sql) const {
  SqliteDb db = open_db();
  std::vector<std::string> out;
  for (auto& v : db.column(sql)) out.push_back(v.value_or("NULL"));
  return out;
}

bool SimHome::db_written_during(const std::function<void()>& action) const {
  SqliteDb db = open_db();
  auto before = db.column("PRAGMA data_version");
  action();
  auto after = db.column("PRAGMA data_version");
  return before != after;
}

}  // namespace bs::test
