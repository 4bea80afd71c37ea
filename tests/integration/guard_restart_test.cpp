// Issue 18 with one machine: a guarded bot-bottle machine that boots confined is left running and
// listed as guarded-ok; the SAME machine, stopped and started again unconfined out of band, is
// killed (`kill`) or reported and left running (`report`). Unconfined two ways: smolvm handing
// the VMM no policy while the row still says the /32, and the row itself opened (`machine update
// --net --reset-allow-list`) while the machine was stopped. The resync is 1 h: only the row and
// data-dir paths act.
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <sstream>

#include "harness.h"

using namespace bs::integ;

namespace {

const std::string kMachine = "bot-bottle-x";
const Json kConfined = Json::array({"127.0.0.20/32"});

void write_guard_config(TempHome& h, const std::string& action) {
  ConfigOptions o;
  o.resync_interval = "1h";
  h.write_config_text(config_toml(o) + "\n[[guard]]\nmachines = \"bot-bottle-*\"\nwithin = [\"127.0.0.16/28\"]\naction = \"" +
                      action + "\"\n");
}

// The guard rule with `action`, and the machine created with the rule's /32 before the daemon
// starts (it then watches an existing smolvm DB).
void create_guarded_machine(TempHome& h, const std::string& action) {
  write_guard_config(h, action);
  RunResult created = h.sim({"machine", "create", "--name", kMachine, "--image", "alpine:3.20", "--net",
                             "--allow-cidr", "127.0.0.20/32"});
  INFO(created.describe());
  REQUIRE(created.exit_code == 0);
}

// The machine's entry in the `guarded` section of `status --json`, or null.
Json guard_entry_of(const TempHome& h, const std::string& machine) {
  Status s = h.status();
  if (!s.doc.is_object() || !s.doc.contains("guarded")) return nullptr;
  for (const Json& m : s.doc["guarded"]) {
    if (m.value("name", "") == machine) return m;
  }
  return nullptr;
}

// The line of `status --all`'s machine table that names `machine` ("" when none does).
std::string status_all_line(const TempHome& h, const std::string& machine) {
  RunResult all = h.cli({"status", "--all"});
  std::istringstream lines(all.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(machine + " ", 0) == 0) return line;
  }
  return "";
}

struct RunningVm {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
};

// Starts the machine out of band and returns its VM, once the row records it.
RunningVm start_machine(const TempHome& h, const Env& knobs = {}) {
  RunResult start = h.sim({"machine", "start", "--name", kMachine}, knobs);
  INFO(start.describe());
  REQUIRE(start.exit_code == 0);
  RunningVm vm;
  vm.pid = h.row(kMachine)->json()["pid"];
  auto st = pid_start_time(vm.pid);
  REQUIRE(st);
  vm.start_time = *st;
  return vm;
}

// Phase one: created with its /32 and started out of band, confined. The guard judges it ok and
// never signals it, also on a full pass.
RunningVm confined_vm_left_alone(TempHome& h) {
  const RunningVm vm = start_machine(h);
  h.wait_until(kMachine + " judged guarded-ok", [&] {
    Json e = guard_entry_of(h, kMachine);
    return e.is_object() && e["verdict"] == "ok" && e["pid"] == vm.pid;
  });
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pass.exit_code == 0);
  CHECK(pid_start_time(vm.pid) == vm.start_time);
  Json entry = guard_entry_of(h, kMachine);
  CHECK(entry["kind"] == "guarded");
  CHECK(entry["verdict"] == "ok");
  CHECK(entry["booted"] == kConfined);
  CHECK(entry["allowlist"] == kConfined);
  const std::string line = status_all_line(h, kMachine);
  INFO("status --all line: " << line);
  CHECK(contains(line, "guarded-ok"));
  CHECK(h.events("guard-killed").empty());
  CHECK(h.events("guard-violation").empty());
  return vm;
}

// Stops the confined VM out of band and opens the next boot: returns the knobs of the start.
Env stop_and_open(const TempHome& h, const RunningVm& confined, bool open_the_row) {
  RunResult stop = h.sim({"machine", "stop", "--name", kMachine});
  INFO(stop.describe());
  REQUIRE(stop.exit_code == 0);
  REQUIRE(wait_pid_gone(confined.pid, Ms(5000)));
  if (open_the_row) {
    RunResult update = h.sim({"machine", "update", "--name", kMachine, "--net", "--reset-allow-list"});
    INFO(update.describe());
    REQUIRE(update.exit_code == 0);
    REQUIRE(h.row(kMachine)->json()["allowed_cidrs"].is_null());
    return {};
  }
  return {{"SMOLVM_SIM_FORCE_POLICY", "null"}};
}

// The pid of the VM a failed start spawned, from the vmm-exit.json smolvm writes for it.
std::optional<std::int64_t> exited_vm_pid(const TempHome& h) {
  const std::string path = h.smolvm_paths().vm_data_dir(kMachine) + "/vmm-exit.json";
  Json j = Json::parse(read_file(path), nullptr, false);
  if (!j.is_object() || !j["pid"].is_number_integer()) return std::nullopt;
  return j["pid"].get<std::int64_t>();
}

// The two ways a guarded machine comes back unconfined, one SECTION each: the VMM is handed no
// policy while the row stays confined, or the row is opened while the machine is stopped.
bool row_opened_while_stopped() {
  bool opened = false;
  SECTION("the VMM handed no policy, the row still confined") { opened = false; }
  SECTION("the row opened while stopped") { opened = true; }
  return opened;
}

}  // namespace

TEST_CASE("guard: the same machine confined is left running, restarted unconfined is killed",
          "[integration][guard]") {
  TempHome h;
  create_guarded_machine(h, "kill");
  Daemon d(h);
  d.wait_answering();

  const RunningVm confined = confined_vm_left_alone(h);
  const bool open_the_row = row_opened_while_stopped();
  const Env knobs = stop_and_open(h, confined, open_the_row);

  const auto started = Clock::now();
  RunResult start = h.sim({"machine", "start", "--name", kMachine}, knobs);
  INFO(start.describe());
  std::int64_t rogue = 0;
  if (start.exit_code == 0) {
    rogue = h.row(kMachine)->json()["pid"];
    h.wait_until("the unconfined VM to be killed", [&] { return !pid_alive(rogue); });
    print_metric("guarded_restart_unconfined_to_killed_ms", elapsed_ms(started));
  } else {
    // Killed before its agent answered: the start itself failed, and smolvm recorded the VM's end.
    CHECK(contains(start.err, "SIGKILL"));
    auto pid = exited_vm_pid(h);
    REQUIRE(pid);
    rogue = *pid;
    print_metric("guarded_restart_unconfined_start_failed_after_ms", elapsed_ms(started));
  }
  REQUIRE(rogue != confined.pid);

  std::vector<Json> kills;
  h.wait_until("the guard-killed event", [&] { return !(kills = h.events("guard-killed")).empty(); });
  REQUIRE(kills.size() == 1);
  INFO("guard-killed: " << kills[0].dump());
  CHECK(kills[0]["machine"] == kMachine);
  CHECK(contains(kills[0]["detail"], "booted unconfined"));
  CHECK(mentions_pid(kills[0]["detail"], rogue));
  CHECK(h.events("guard-violation").empty());

  // Never started, stopped, deleted or patched by the supervisor: the row is as the user left it.
  CHECK(h.row(kMachine)->json()["allowed_cidrs"] == (open_the_row ? Json(nullptr) : kConfined));
  CHECK(h.events("patched").empty());
  CHECK(h.events("started").empty());
  Json entry = guard_entry_of(h, kMachine);
  CHECK(entry["kind"] == "guarded");
  CHECK(entry["pid"].is_null());
}

TEST_CASE("guard: `report` leaves the same machine running when it restarts unconfined, and reports it",
          "[integration][guard]") {
  TempHome h;
  create_guarded_machine(h, "report");
  Daemon d(h);
  d.wait_answering();

  const RunningVm confined = confined_vm_left_alone(h);
  const bool open_the_row = row_opened_while_stopped();
  const Env knobs = stop_and_open(h, confined, open_the_row);

  const RunningVm open = start_machine(h, knobs);
  REQUIRE(open.pid != confined.pid);
  std::vector<Json> reports;
  h.wait_until("the guard-violation event", [&] { return !(reports = h.events("guard-violation")).empty(); });
  REQUIRE(reports.size() == 1);
  CHECK(reports[0]["machine"] == kMachine);
  CHECK(mentions_pid(reports[0]["detail"], open.pid));

  // Judged again on a full pass: still alive, reported once for this VM, never killed.
  RunResult pass = h.cli({"reconcile"});
  INFO(pass.describe());
  CHECK(pid_start_time(open.pid) == open.start_time);
  CHECK(h.events("guard-violation").size() == 1);
  CHECK(h.events("guard-killed").empty());
  Json entry = guard_entry_of(h, kMachine);
  CHECK(entry["verdict"] == "violation");
  CHECK(entry["pid"] == open.pid);
  CHECK(entry["booted"].is_null());
  CHECK(entry["allowlist"] == (open_the_row ? Json(nullptr) : kConfined));
  CHECK(contains(h.cli({"status"}).out, "warning: guarded machine " + kMachine + " breaks its rule (report)"));
  CHECK(h.events("started").empty());
  CHECK(h.events("patched").empty());
}
