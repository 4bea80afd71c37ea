#include "unit/sim/sim_fixture.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "smolvm/sha256.h"

namespace bs::test {
namespace {

// A statement finalized on every path; throws on SQL errors (tests only).
class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs `sql` with text binds; returns the first column of each row as text.
  std::vector<std::optional<std::string>> query(const std::string& sql, const std::vector<std::string>& binds = {},
                                                std::optional<std::string> blob_last = std::nullopt) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    int i = 1;
    for (const auto& b : binds) sqlite3_bind_text(st, i++, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    if (blob_last) sqlite3_bind_blob(st, i, blob_last->data(), static_cast<int>(blob_last->size()), SQLITE_TRANSIENT);
    std::vector<std::optional<std::string>> out;
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
      if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        out.emplace_back(std::nullopt);
      } else {
        const void* p = sqlite3_column_blob(st, 0);
        out.emplace_back(std::string(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, 0))));
      }
    }
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::map<std::string, std::string> base_env(const std::string& root) { return {{"SMOLVM_DATA_DIR", root}}; }

SpawnOptions options(const std::string& root, const std::map<std::string, std::string>& env,
                     std::optional<std::string> stdin_data) {
  SpawnOptions o;
  o.env_set = base_env(root);
  for (const auto& [k, v] : env) o.env_set[k] = v;
  o.env_unset_prefixes = {"SMOLVM_SIM_", "XDG_"};  // hermetic: only the knobs a test sets
  o.stdin_data = std::move(stdin_data);
  return o;
}

void kill_verified(pid_t pid, std::uint64_t start_time) {
  auto st = proc_start_time(pid);
  if (!st || *st != start_time) return;  // gone, or the pid now belongs to someone else
  kill(pid, SIGKILL);
  // The VM was reparented to us (we are a child subreaper): reap it, bounded.
  wait_until([&] { return waitpid(pid, nullptr, WNOHANG) != 0 || proc_gone(pid); }, std::chrono::seconds(5));
}

// Children of this process, from /proc/<pid>/stat field 4 (ppid).
std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_text("/proc/" + name + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == getpid()) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

}  // namespace

std::string sim_binary() { return BS_BUILD_DIR "/smolvm-sim"; }

SimHome::SimHome() {
  // Orphaned VMs come to this process instead of a PID 1 that may never reap them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  char tmpl[] = "/tmp/bs-sim-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
}

SimHome::~SimHome() {
  try {
    if (file_exists(db_path())) {
      Db db(db_path());
      for (const auto& data : db.query("SELECT CAST(data AS TEXT) FROM vms")) {
        if (!data) continue;
        auto j = nlohmann::json::parse(*data, nullptr, false);
        if (j.is_object() && j.value("pid", nlohmann::json()).is_number_integer() &&
            j.value("pid_start_time", nlohmann::json()).is_number_unsigned()) {
          kill_verified(j["pid"].get<pid_t>(), j["pid_start_time"].get<std::uint64_t>());
        }
      }
    }
  } catch (const std::exception&) {
    // A broken DB must not stop the rest of the cleanup.
  }
  for (auto [pid, st] : tracked_) kill_verified(pid, st);
  // Backstop for a row that lies (wrong start time, row deleted): as the subreaper, every orphaned
  // VM is our child, and one whose command line names this home is certainly one we started.
  for (pid_t pid : own_children()) {
    auto st = proc_start_time(pid);
    if (st && proc_cmdline(pid).find(" _boot-vm " + root_ + "/") != std::string::npos) kill_verified(pid, *st);
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string SimHome::vm_dir(const std::string& machine) const {
  return root_ + "/.cache/smolvm/vms/" + bs::smolvm::sha256_hex(machine).substr(0, 16);
}

ProcResult SimHome::sim(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                        std::optional<std::string> stdin_data) const {
  std::vector<std::string> argv{sim_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options(root_, env, std::move(stdin_data)));
}

std::unique_ptr<RunningProcess> SimHome::sim_background(const std::vector<std::string>& args,
                                                        const std::map<std::string, std::string>& env) const {
  std::vector<std::string> argv{sim_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<RunningProcess>(argv, options(root_, env, std::nullopt));
}

std::optional<std::string> SimHome::row_bytes(const std::string& machine) const {
  Db db(db_path());
  auto rows = db.query("SELECT data FROM vms WHERE name = ?1", {machine});
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

std::string SimHome::row_type(const std::string& machine) const {
  Db db(db_path());
  auto rows = db.query("SELECT typeof(data) FROM vms WHERE name = ?1", {machine});
  return rows.empty() || !rows[0] ? "" : *rows[0];
}

nlohmann::ordered_json SimHome::row(const std::string& machine) const {
  auto bytes = row_bytes(machine);
  if (!bytes) return nullptr;
  return nlohmann::ordered_json::parse(*bytes);
}

void SimHome::put_row_blob(const std::string& machine, const std::string& bytes) const {
  Db db(db_path());
  db.query("INSERT INTO vms (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET data = excluded.data",
           {machine}, bytes);
}

void SimHome::put_row_text(const std::string& machine, const std::string& text) const {
  Db db(db_path());
  db.query("INSERT INTO vms (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET data = excluded.data",
           {machine, text});
}

void SimHome::delete_row(const std::string& machine) const {
  Db db(db_path());
  db.query("DELETE FROM vms WHERE name = ?1", {machine});
}

std::vector<std::string> SimHome::sql_column(const std::string& sql) const {
  Db db(db_path());
  std::vector<std::string> out;
  for (auto& v : db.query(sql)) out.push_back(v.value_or("NULL"));
  return out;
}

bool SimHome::db_written_during(const std::function<void()>& action) const {
  Db db(db_path());
  auto before = db.query("PRAGMA data_version");
  action();
  auto after = db.query("PRAGMA data_version");
  return before != after;
}

std::optional<std::uint64_t> proc_start_time(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && (rest >> field); ++i) {
    if (i == 22) return std::stoull(field);
  }
  return std::nullopt;
}

std::string proc_cmdline(pid_t pid) {
  std::string raw = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

bool proc_gone(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return true;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  rest >> state;
  return state == "Z" || state == "X";
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace bs::test
