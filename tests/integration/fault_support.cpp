#include "fault_support.h"

#include <poll.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "platform/process.h"
#include "smolvm/boot_config.h"
#include "smolvm/running_vm.h"

namespace bs::integ {
namespace fs = std::filesystem;
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Db open_db(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) throw std::runtime_error("open " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), 15000);  // as another smolvm process would wait
  return db;
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare ") + sql + ": " + sqlite3_errmsg(db));
  }
  return Stmt(raw);
}

void step_done(sqlite3* db, sqlite3_stmt* s, const std::string& what) {
  if (sqlite3_step(s) != SQLITE_DONE) throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
}

template <class T>
T value_or_fail(bs::Expected<T, store::StoreError> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}

// The DbLockHolder child: never returns.
[[noreturn]] void hold_lock(const std::string& db_path, int ready_fd, int release_fd, Ms max_hold) {
  auto fail = [&](const char* what, sqlite3* db) {
    std::string msg = std::string("E") + what + ": " + (db ? sqlite3_errmsg(db) : "?");
    ssize_t ignored = ::write(ready_fd, msg.data(), msg.size());
    (void)ignored;
    _exit(2);
  };
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) fail("open", db);
  sqlite3_busy_timeout(db, 15000);
  if (sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK) fail("BEGIN EXCLUSIVE", db);
  // A write inside the transaction: in WAL mode the lock that matters is the writer's.
  if (sqlite3_exec(db, "UPDATE vms SET data = data WHERE rowid = (SELECT min(rowid) FROM vms)", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    fail("UPDATE", db);
  }
  if (::write(ready_fd, "L", 1) != 1) _exit(3);
  pollfd p{release_fd, POLLIN, 0};
  int ms = static_cast<int>(max_hold.count());
  while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
  }
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
  _exit(0);
}

}  // namespace

std::vector<BootVm> boot_vms(const TempHome& home) {
  std::vector<BootVm> out;
  for (const platform::ProcessInfo& p : platform::processes_with_cmdline_containing(home.dir())) {
    auto raw = platform::read_cmdline(p.pid);
    if (!raw) continue;
    auto config = smolvm::boot_config_from_cmdline(*raw);
    if (!config || config->rfind(home.dir() + "/", 0) != 0) continue;
    if (!pid_alive(p.pid)) continue;
    BootVm vm;
    vm.pid = p.pid;
    vm.start_time = p.start_time;
    vm.boot_config = *config;
    // What smolvm records of it: its data dir's `name` file and agent.config.json (boot-config.json
    // is deleted by the VM once read).
    const std::string dir = smolvm::data_dir_of_boot_config(*config).value_or("");
    vm.machine = read_file(dir + "/name");
    while (!vm.machine.empty() && vm.machine.back() == '\n') vm.machine.pop_back();
    Json j = Json::parse(read_file(dir + "/agent.config.json"), nullptr, false);
    if (j.is_object() && j.contains("resources") && j["resources"].is_object() &&
        j["resources"].contains("allowed_cidrs")) {
      vm.policy = j["resources"]["allowed_cidrs"];
    }
    out.push_back(vm);
  }
  return out;
}

std::string state_db_path(const TempHome& home) { return home.state_dir() + "/state.db"; }

StateSnapshot read_state(const TempHome& home) {
  auto opened = store::StateStore::open(home.state_dir());
  if (!opened) throw std::runtime_error("open the state store: " + opened.error().message);
  StateSnapshot s;
  s.leases = value_or_fail(opened->leases(), "read leases");
  s.machines = value_or_fail(opened->machines(), "read managed machines");
  s.events = value_or_fail(opened->events("", 0, 0, 0), "read events");
  return s;
}

std::string integrity_check(const std::string& db_path) {
  Db db = open_db(db_path, SQLITE_OPEN_READONLY);
  Stmt s = prepare(db.get(), "PRAGMA integrity_check");
  std::string result;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    if (!result.empty()) result += "; ";
    result += reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
  }
  if (rc != SQLITE_DONE) return std::string("integrity_check failed: ") + sqlite3_errmsg(db.get());
  return result;
}

DbLockHolder::DbLockHolder(const std::string& db_path, Ms max_hold) {
  int ready[2], release_pipe[2];
  if (::pipe(ready) != 0 || ::pipe(release_pipe) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::close(ready[0]);
    ::close(release_pipe[1]);
    hold_lock(db_path, ready[1], release_pipe[0], max_hold);
  }
  ::close(ready[1]);
  ::close(release_pipe[0]);
  release_fd_ = release_pipe[1];
  std::string answer;
  char buf[512];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof buf)) > 0) {
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer == "L") break;
  }
  ::close(ready[0]);
  if (answer != "L") {
    release();
    throw std::runtime_error("the lock holder could not lock " + db_path + ": " + answer);
  }
}

DbLockHolder::~DbLockHolder() { release(); }

int DbLockHolder::release() {
  if (exit_code_) return *exit_code_;
  if (release_fd_ >= 0) ::close(release_fd_);
  release_fd_ = -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return *exit_code_;
}

void delete_row(const std::string& db_path, const std::string& machine) {
  Db db = open_db(db_path, SQLITE_OPEN_READWRITE);
  Stmt s = prepare(db.get(), "DELETE FROM vms WHERE name = ?1");
  sqlite3_bind_text(s.get(), 1, machine.c_str(), -1, SQLITE_TRANSIENT);
  step_done(db.get(), s.get(), "delete row " + machine);
  if (sqlite3_changes(db.get()) != 1) throw std::runtime_error("no row " + machine + " to delete");
}

void write_row_blob(const std::string& db_path, const std::string& machine, const std::string& bytes) {
  Db db = open_db(db_path, SQLITE_OPEN_READWRITE);
  Stmt s = prepare(db.get(), "UPDATE vms SET data = ?1 WHERE name = ?2");
  sqlite3_bind_blob(s.get(), 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, machine.c_str(), -1, SQLITE_TRANSIENT);
  step_done(db.get(), s.get(), "write row " + machine);
  if (sqlite3_changes(db.get()) != 1) throw std::runtime_error("no row " + machine + " to write");
}

void install_smolvm_wrapper(const TempHome& home, const std::string& machine, const Env& knobs) {
  std::string script = "#!/bin/sh\n# smolvm for a fault test: knobs only for commands naming " + machine + "\n";
  if (!knobs.empty()) {
    script += "for a in \"$@\"; do\n  case \"$a\" in " + machine + ")\n";
    for (const auto& [k, v] : knobs) script += "    export " + k + "='" + v + "'\n";
    script += "  esac\ndone\n";
  }
  script += "exec '" + kSimBin + "' \"$@\"\n";
  const std::string bin = home.dir() + "/bin/smolvm";
  const std::string tmp = home.dir() + "/bin/.smolvm.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << script;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), 0755);
  fs::rename(tmp, bin);  // atomic: a command starting now runs either the old or the new one
}

bool all_converged(const Status& st, const std::vector<std::string>& bottles) {
  for (const auto& name : bottles) {
    Json b = st.bottle(name);
    if (!b.is_object() || !b.value("converged", false) || b.value("confinement", "") != "verified") return false;
    if (b.value("desired", "") == "running" && !verified_running(b)) return false;
  }
  return true;
}

std::vector<std::int64_t> children_with(std::int64_t parent, const std::string& needle) {
  std::vector<std::int64_t> out;
  for (std::int64_t pid : children_of(parent)) {
    auto cmdline = platform::read_cmdline(pid);
    if (cmdline && smolvm::cmdline_contains(*cmdline, needle)) out.push_back(pid);
  }
  return out;
}

}  // namespace bs::integ
