#include "fault_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <set>
#include <stdexcept>

#include "platform/process.h"
#include "smolvm/boot_config.h"
#include "smolvm/running_vm.h"
#include "support/files.h"
#include "support/sqlite_db.h"

namespace bs::integ {
namespace {

template <class T>
T value_or_fail(bs::Expected<T, store::StoreError> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message);
  return std::move(*r);
}

// The DbLockHolder child: holds the lock until its stdin (the release pipe) ends. Never returns.
[[noreturn]] void hold_lock(const std::string& db_path, int ready_fd, Ms max_hold) {
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
  pollfd p{STDIN_FILENO, POLLIN, 0};
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

std::map<std::string, std::string> lease_of_each_bottle(const StateSnapshot& state) {
  std::map<std::string, std::string> lease_of;
  std::set<std::string> addresses;
  for (const auto& l : state.leases) {
    CHECK(lease_of.emplace(l.bottle, l.address.str()).second);
    CHECK(addresses.insert(l.address.str()).second);
  }
  return lease_of;
}

std::string integrity_check(const std::string& db_path) {
  std::string result;
  try {
    test::SqliteDb db(db_path, test::SqliteDb::Mode::ReadOnly, test::kSmolvmBusyTimeoutMs);
    for (const auto& finding : db.column("PRAGMA integrity_check")) {
      if (!result.empty()) result += "; ";
      result += finding.value_or("");
    }
  } catch (const std::exception& e) {
    return std::string("integrity_check failed: ") + e.what();
  }
  return result;
}

DbLockHolder::DbLockHolder(const std::string& db_path, Ms max_hold) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  child_.emplace(test::ForkedChild::spawn([&] {
    ::close(ready[0]);
    hold_lock(db_path, ready[1], max_hold);
  }));
  ::close(ready[1]);
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
  if (!exit_code_) {
    child_->release();
    exit_code_ = test::exit_code_of(child_->wait());
  }
  return *exit_code_;
}

void install_smolvm_wrapper(const TempHome& home, const std::string& machine, const Env& knobs,
                            const std::string& command_log) {
  std::string script = "#!/bin/sh\n# smolvm for a test: knobs only for commands naming " + machine + "\n";
  if (!command_log.empty()) script += "echo \"$*\" >> '" + command_log + "'\n";
  if (!knobs.empty()) {
    script += "for a in \"$@\"; do\n  case \"$a\" in " + machine + ")\n";
    for (const auto& [k, v] : knobs) script += "    export " + k + "='" + v + "'\n";
    script += "  esac\ndone\n";
  }
  script += "exec '" + kSimBin + "' \"$@\"\n";
  // Atomic: a command starting now runs either the old or the new one.
  test::write_file_atomic(home.dir() + "/bin/smolvm", script, 0755);
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
