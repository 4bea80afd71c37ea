// A throwaway smolvm home for one test: runs build/smolvm-sim with SMOLVM_DATA_DIR pointing at a
// temp dir, reads and writes its DB directly, and on destruction kills every VM it can verify
// (pid + start time from the rows, or registered by the test), reaps them and removes the dir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_run.h"
#include "support/files.h"
#include "support/poll.h"
#include "support/proc.h"
#include "support/sqlite_db.h"
#include "support/temp_dir.h"

namespace bs::test {

std::string sim_binary();

class SimHome {
 public:
  SimHome();
  ~SimHome();
  SimHome(const SimHome&) = delete;
  SimHome& operator=(const SimHome&) = delete;

  const std::string& root() const { return root_.path(); }
  std::string db_path() const { return root() + "/.local/share/smolvm/server/smolvm.db"; }
  // <root>/.cache/smolvm/vms/<first 16 hex of sha256(name)>
  std::string vm_dir(const std::string& machine) const;

  // The sim with only the knobs a test sets: SMOLVM_SIM_* and XDG_* are dropped from our
  // environment, SMOLVM_DATA_DIR and `env` added. Killed after 60 s.
  RunResult sim(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                std::optional<std::string> stdin_data = std::nullopt) const;
  std::unique_ptr<RunningChild> sim_background(const std::vector<std::string>& args,
                                               const std::map<std::string, std::string>& env = {}) const;

  // Direct DB access (a fresh connection each call, like an outside writer).
  std::optional<std::string> row_bytes(const std::string& machine) const;
  std::string row_type(const std::string& machine) const;  // typeof(data), "" if no row
  nlohmann::ordered_json row(const std::string& machine) const;
  void put_row_blob(const std::string& machine, const std::string& bytes) const;
  void put_row_text(const std::string& machine, const std::string& text) const;
  void delete_row(const std::string& machine) const;  // no row is no error
  std::vector<std::string> sql_column(const std::string& sql) const;  // first column of every row
  // Whether another connection committed to the DB while `action` ran (PRAGMA data_version).
  bool db_written_during(const std::function<void()>& action) const;

  // A VM the test started by itself; killed at teardown if its start time still matches.
  void track_vm(pid_t pid, std::uint64_t start_time) { tracked_.emplace_back(pid, start_time); }

 private:
  SqliteDb open_db() const;

  TempDir root_;
  std::vector<std::pair<pid_t, std::uint64_t>> tracked_;
};

}  // namespace bs::test
