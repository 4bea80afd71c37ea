// One test per reaction of the daemon (CONTRACT §3, §6): each change is acted on within a bound
// far below the resync interval (1 h here), so none of them can lean on the periodic resync.
// Every measured reaction time is printed as "metric: reaction_<what>=<ms>" (never asserted
// beyond the generous bound). A wrapper around the sim logs every smolvm command, so the tests
// also count what the daemon ran: exactly one recreate per shape edit, then rest; no more
// commands than the backoff schedule allows while a bottle keeps failing.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fault_support.h"
#include "harness.h"

using namespace bs::integ;

namespace {

constexpr Ms kBound(10000);  // far below the 1 h resync; a reaction must come within it

// <home>/bin/smolvm becomes a script that appends its arguments to a log, then execs the sim with
// `knobs` for commands naming a machine matching `pattern`.
std::string install_logging_wrapper(const TempHome& h, const std::string& pattern = "", const Env& knobs = {}) {
  const std::string log = h.dir() + "/smolvm-commands.log";
  install_smolvm_wrapper(h, pattern, knobs, log);
  return log;
}

// The logged smolvm commands that change a machine: "machine create ... bottle-a ...", etc.
std::vector<std::string> machine_commands(const std::string& log, const std::string& machine) {
  std::vector<std::string> out;
  std::istringstream in(read_file(log));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 2 || w[0] != "machine") continue;
    if (w[1] != "create" && w[1] != "start" && w[1] != "stop" && w[1] != "delete") continue;
    if (std::find(w.begin(), w.end(), machine) == w.end()) continue;
    out.push_back(line);
  }
  return out;
}

std::size_t count_of(const std::vector<std::string>& cmds, const std::string& verb) {
  return static_cast<std::size_t>(std::count_if(cmds.begin(), cmds.end(), [&](const std::string& c) {
    return c.rfind("machine " + verb + " ", 0) == 0;
  }));
}

// Waits for `pred` within kBound and prints how long it took.
long long reaction(const TempHome& h, const std::string& what, const std::function<bool()>& pred) {
  const auto t0 = Clock::now();
  h.wait_until(what, pred, kBound);
  const long long ms = elapsed_ms(t0);
  print_metric("reaction_" + what, ms);
  return ms;
}

bool verified_with_new_pid(const TempHome& h, const std::string& bottle, const Json& old) {
  Json b = h.status().bottle(bottle);
  return verified_running(b) && b["converged"] == true && b["pid"] != old["pid"];
}

bool converged_now(const TempHome& h, const std::string& bottle) {
  Json b = h.status().bottle(bottle);
  return b.is_object() && b["converged"] == true;
}

}  // namespace

TEST_CASE("reaction: a spec added is created, confined and started", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("a", spec_toml());
  reaction(h, "spec_added", [&] { return verified_running(h.status().bottle("a")); });
  // status says what the VM booted with, as the kill path read it.
  CHECK(h.status().bottle("a")["booted"] == R"(["127.0.0.16/32"])");
}

TEST_CASE("reaction: spec edits", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  const std::string log = install_logging_wrapper(h);
  h.write_spec("a", spec_toml());
  Json before = h.wait_verified("a");

  SECTION("allowlist: re-patched, the old VM drift-killed and restarted confined") {
    h.write_spec("a", spec_toml("[egress]\nallow = [\"10.0.0.0/8\"]"));
    const Json want = Json::array({"10.0.0.0/8", "127.0.0.16/32"});
    reaction(h, "edit_allowlist", [&] {
      Json b = h.status().bottle("a");
      return verified_with_new_pid(h, "a", before) && b["allowlist"] == want;
    });
    auto row = h.row("bottle-a");
    REQUIRE(row);
    CHECK(row->json()["allowed_cidrs"] == want);
  }
  SECTION("state: stopped, then running again") {
    h.write_spec("a", spec_toml("state = \"stopped\""));
    reaction(h, "edit_state_stopped", [&] {
      Json b = h.status().bottle("a");
      return b.is_object() && b["actual"] == "stopped" && b["converged"] == true;
    });
    h.write_spec("a", spec_toml("state = \"running\""));
    reaction(h, "edit_state_running", [&] { return verified_with_new_pid(h, "a", before); });
  }
  SECTION("machine: the old machine removed, the new one created, the lease kept") {
    h.write_spec("a", spec_toml("machine = \"other\""));
    reaction(h, "edit_machine", [&] {
      Json b = h.status().bottle("a");
      return verified_running(b) && b["machine"] == "other" && b["converged"] == true && !h.row("bottle-a");
    });
    CHECK(h.status().bottle("a")["address"] == before["address"]);
  }
  SECTION("each shape key: exactly one delete and one create, then the bottle rests") {
    const std::string from = h.make_smolmachine("agent");
    struct Edit {
      std::string key, spec, expect;  // expect: a word the new create's command line has
    };
    const std::vector<Edit> edits = {
        {"cpus", spec_toml("cpus = 2"), "--cpus 2"},
        {"memory", spec_toml("cpus = 2\nmemory = 1024"), "--mem 1024"},
        {"image", "image = \"alpine:3.21\"\ncpus = 2\nmemory = 1024\n", "alpine:3.21"},
        {"from", "from = \"" + from + "\"\ncpus = 2\nmemory = 1024\n", from},
    };
    Json last = before;
    for (const Edit& e : edits) {
      CAPTURE(e.key);
      const std::size_t seen = machine_commands(log, "bottle-a").size();
      h.write_spec("a", e.spec);
      reaction(h, "edit_" + e.key, [&] {
        auto cmds = machine_commands(log, "bottle-a");
        return cmds.size() > seen && verified_with_new_pid(h, "a", last) &&
               cmds.back().find("start") != std::string::npos;
      });
      // Then it rests: no smolvm command for 3 s while nothing changes.
      auto after = machine_commands(log, "bottle-a");
      observe_for(Ms(3000));
      auto rested = machine_commands(log, "bottle-a");
      CHECK(rested.size() == after.size());
      std::vector<std::string> mine(rested.begin() + static_cast<std::ptrdiff_t>(seen), rested.end());
      CHECK(count_of(mine, "delete") == 1);
      CHECK(count_of(mine, "create") == 1);
      for (const auto& c : mine) {
        if (c.rfind("machine create ", 0) == 0) CHECK(c.find(e.expect) != std::string::npos);
      }
      last = h.status().bottle("a");
      CHECK(last["error"].is_null());
    }
  }
}

TEST_CASE("reaction: a shape edit with on_remove = keep recreates nothing and says how", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  const std::string log = install_logging_wrapper(h);
  h.write_spec("k", spec_toml("on_remove = \"keep\""));
  Json before = h.wait_verified("k");
  const std::size_t seen = machine_commands(log, "bottle-k").size();
  h.write_spec("k", spec_toml("on_remove = \"keep\"\ncpus = 2"));
  reaction(h, "edit_shape_keep_reported", [&] {
    Json b = h.status().bottle("k");
    return b.is_object() && b["error"].is_string() &&
           b["error"].get<std::string>().find("cpus=1 -> cpus=2") != std::string::npos;
  });
  Json b = h.status().bottle("k");
  CHECK(b["error"].get<std::string>().find("smolvm machine delete --name bottle-k -f") != std::string::npos);
  CHECK(b["converged"] == false);
  observe_for(Ms(3000));
  CHECK(machine_commands(log, "bottle-k").size() == seen);  // nothing stopped, deleted or created
  CHECK(h.status().bottle("k")["pid"] == before["pid"]);
  CHECK(h.status().exit_code == 1);
}

TEST_CASE("reaction: an edit made while the create runs ends with the new shape", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  const std::string log = install_logging_wrapper(
      h, "bottle-slow", {{"SMOLVM_SIM_HANG_SECS", "2"}, {"SMOLVM_SIM_HANG_COMMANDS", "create"}});
  h.write_spec("slow", spec_toml());
  h.wait_until("the first create running", [&] { return count_of(machine_commands(log, "bottle-slow"), "create") == 1; },
               kBound);
  h.write_spec("slow", spec_toml("cpus = 3\nmemory = 768"));
  reaction(h, "edit_during_create", [&] {
    Json b = h.status().bottle("slow");
    if (!verified_running(b) || b["converged"] != true) return false;  // the row is there from now
    auto row = h.row("bottle-slow");
    return row && row->json()["cpus"] == 3 && row->json()["mem"] == 768;
  });
  auto cmds = machine_commands(log, "bottle-slow");
  CHECK(count_of(cmds, "create") == 2);
  CHECK(count_of(cmds, "delete") == 1);
  observe_for(Ms(3000));
  CHECK(machine_commands(log, "bottle-slow").size() == cmds.size());
}

TEST_CASE("reaction: removals", "[integration][reaction]") {
  ConfigOptions cfg;
  cfg.removal_grace = "1s";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();

  SECTION("a spec deleted right after it was written (never cached) is removed") {
    h.write_spec("a", spec_toml());
    h.wait_verified("a");
    h.remove_spec("a");
    reaction(h, "deleted_fresh_spec", [&] { return !h.row("bottle-a") && h.status().bottle("a").is_null(); });
  }
  SECTION("a spec deleted long after it was written (cached) is removed") {
    const std::string path = h.write_spec("a", spec_toml());
    h.wait_verified("a");
    // Old enough for the read cache, and read again by a rescan (another spec's event).
    h.wait_until("the spec 2.5 s old", [&] {
      struct stat st {};
      return ::stat(path.c_str(), &st) == 0 && ::time(nullptr) - st.st_ctime >= 3;
    });
    h.write_spec("b", spec_toml());
    h.wait_verified("b");
    h.remove_spec("a");
    reaction(h, "deleted_old_spec", [&] { return !h.row("bottle-a") && h.status().bottle("a").is_null(); });
    CHECK(verified_running(h.status().bottle("b")));
  }
  SECTION("deleted and rewritten inside the grace, then deleted for good") {
    h.write_spec("a", spec_toml());
    Json a = h.wait_verified("a");
    const std::string text = read_file(h.spec_path("a"));
    h.remove_spec("a");
    h.write_spec("a", text);
    h.wait_until("a present again", [&] { return converged_now(h, "a"); });
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
    h.remove_spec("a");
    reaction(h, "deleted_after_rewrite", [&] { return !h.row("bottle-a"); });
  }
  SECTION("on_remove = keep: quarantined when the grace runs out") {
    h.write_spec("k", spec_toml("on_remove = \"keep\""));
    h.wait_verified("k");
    h.remove_spec("k");
    reaction(h, "grace_expiry_keep", [&] { return !h.events("quarantined", "k").empty(); });
    h.wait_until("k forgotten", [&] { return h.status().bottle("k").is_null(); }, kBound);
  }
}

TEST_CASE("reaction: SIGHUP with a new removal grace applies to a grace already running", "[integration][reaction]") {
  ConfigOptions cfg;
  cfg.removal_grace = "1h";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("a", spec_toml());
  h.wait_verified("a");
  h.remove_spec("a");
  h.wait_until("a held inside the grace", [&] {
    Json b = h.status().bottle("a");
    return b.is_object() && b["converged"] == false;
  }, kBound);
  cfg.removal_grace = "300ms";
  h.write_config(cfg);
  d.signal(SIGHUP);
  reaction(h, "sighup_new_grace", [&] { return !h.row("bottle-a"); });
}

TEST_CASE("reaction: a DB row changed and a VM exit", "[integration][reaction]") {
  ConfigOptions cfg;
  cfg.backoff_initial = "1s";
  TempHome h(cfg);
  Daemon d(h);
  d.wait_answering();
  h.write_spec("a", spec_toml());
  Json before = h.wait_verified("a");

  SECTION("allowed_cidrs widened out of band: re-patched") {
    set_allowed_cidrs(h.db_path(), "bottle-a", nullptr);
    reaction(h, "db_row_changed", [&] {
      auto row = h.row("bottle-a");
      return row && row->json()["allowed_cidrs"] == kFirstAllowlist && converged_now(h, "a");
    });
  }
  SECTION("the VM exits: restarted at once, then after the backoff") {
    ::kill(static_cast<pid_t>(before["pid"].get<std::int64_t>()), SIGKILL);
    reaction(h, "vm_exit", [&] { return verified_with_new_pid(h, "a", before); });
    Json second = h.status().bottle("a");
    ::kill(static_cast<pid_t>(second["pid"].get<std::int64_t>()), SIGKILL);
    // The second exit within 10 minutes waits backoff.initial (1 s); status says so meanwhile.
    h.wait_until("status shows the restart backoff", [&] {
      Json b = h.status().bottle("a");
      return b.is_object() && b["retry"].is_object() && b["error"].is_string();
    }, kBound);
    Json waiting = h.status().bottle("a");
    CHECK(waiting["retry"]["count"] == 2);
    // How the VM ended: it was the daemon's child (it is the subreaper of its smolvm starts).
    CHECK(waiting["last_exit"]["pid"] == second["pid"]);
    CHECK(waiting["last_exit"]["status"] == "killed by SIGKILL");
    CHECK(contains(waiting["retry"]["reason"].get<std::string>(), "(the last: killed by SIGKILL)"));
    CHECK(waiting["retry"]["next_at"].is_string());
    reaction(h, "backoff_expiry", [&] { return verified_with_new_pid(h, "a", second); });
    CHECK(h.status().bottle("a")["retry"].is_null());
  }
}

TEST_CASE("hot-loop guard: a failing or exiting bottle runs no more commands than its backoff allows",
          "[integration][reaction]") {
  // backoff 200 ms doubling: tries at 0, 0.2, 0.6, 1.4, 3.0 s (and 6.2 s): at most 6 in 5 s.
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  struct Case {
    std::string name;
    Env knobs;
    std::string verb;
    std::size_t max;
  };
  const std::vector<Case> cases = {
      {"failing create", {{"SMOLVM_SIM_FAIL_CREATE", "no space"}}, "create", 7},
      {"failing start", {{"SMOLVM_SIM_FAIL_START", "boom"}}, "start", 7},
      // Restart backoff: at once, then 0.2, 0.4, 0.8, 1.6, 3.2 s after each exit (+ run time).
      // The VM exits well after the sim's readiness wait (100 ms), so every start succeeds and
      // only the exit path is measured (one exiting while booting fails the start instead).
      {"exiting VM", {{"SMOLVM_SIM_VM_EXIT_AFTER_MS", "400"}}, "start", 8},
      // Every start boots unconfined: each is drift-killed and restarted at once (a drift kill is
      // not an exit), until the step gives up as "not converging" and retries with backoff.
      {"drifting VM", {{"SMOLVM_SIM_FORCE_POLICY", "null"}}, "start", 9},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string log = install_logging_wrapper(h, "bottle-hot", c.knobs);
    h.write_spec("hot", spec_toml());
    h.wait_until("the first " + c.verb, [&] { return count_of(machine_commands(log, "bottle-hot"), c.verb) >= 1; },
                 kBound);
    observe_for(Ms(5000));
    // Every `verb` so far: the first and those of the 5 s after it.
    const std::size_t n = count_of(machine_commands(log, "bottle-hot"), c.verb);
    print_metric("hot_loop_" + c.verb + "_" + std::to_string(&c - cases.data()) + "_commands_in_5s",
                 static_cast<long long>(n));
    CHECK(n <= c.max);
    CHECK(n >= 3);  // and it does keep trying
    if (c.verb == "create" || c.knobs.count("SMOLVM_SIM_FAIL_START") != 0 || c.knobs.count("SMOLVM_SIM_FORCE_POLICY") != 0) {
      Json b = h.status().bottle("hot");
      CHECK(b["converged"] == false);
      CHECK(b["error"].is_string());  // status says why
      CHECK(b["retry"].is_object());  // and when the next try is
    }
    h.remove_spec("hot");
    h.wait_until("hot removed", [&] { return h.status().bottle("hot").is_null(); }, kBound);
    std::filesystem::remove(log);
  }
}

TEST_CASE("spec folder: missing or untrusted holds every bottle; nothing is deleted", "[integration][reaction]") {
  TempHome h;  // removal grace 300 ms
  Daemon d(h);
  d.wait_answering();
  h.write_spec("a", spec_toml());
  Json a = h.wait_verified("a");
  const std::string dir = h.bottles_dir();

  SECTION("moved away for 4 s and back (C2)") {
    std::filesystem::rename(dir, dir + ".away");
    reaction(h, "folder_missing_reported", [&] {
      Status st = h.status();
      return st.doc.is_object() && st.doc["supervisor"]["spec_folder_problem"].is_string();
    });
    observe_for(Ms(4000));
    CHECK(h.row("bottle-a"));
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
    CHECK(h.events("deleted", "a").empty());
    CHECK(h.events("stopped", "a").empty());
    CHECK(h.status().exit_code == 1);
    std::filesystem::rename(dir + ".away", dir);
    reaction(h, "folder_back", [&] {
      Status st = h.status();
      return st.doc.is_object() && st.doc["supervisor"]["spec_folder_problem"].is_null() && converged_now(h, "a");
    });
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
  }
  SECTION("world-writable (H6): nothing in it acted on until fixed") {
    ::chmod(dir.c_str(), 01777);
    reaction(h, "folder_untrusted_reported", [&] {
      Status st = h.status();
      return st.doc.is_object() && st.doc["supervisor"]["spec_folder_problem"].is_string() &&
             st.doc["supervisor"]["spec_folder_problem"].get<std::string>().find("writable by group or others") !=
                 std::string::npos;
    });
    h.write_spec("b", spec_toml("[egress]\nallow = [\"0.0.0.0/0\"]"));
    h.remove_spec("a");
    observe_for(Ms(2000));
    CHECK_FALSE(h.row("bottle-b"));
    CHECK(h.row("bottle-a"));
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
    ::chmod(dir.c_str(), 0700);
    reaction(h, "folder_trusted_again", [&] { return verified_running(h.status().bottle("b")) && !h.row("bottle-a"); });
  }
  SECTION("a symlink not owned by the user is in error") {
    if (::geteuid() != 0) {
      WARN("not run: needs root to give a symlink another owner");
      return;
    }
    const std::string target = h.dir() + "/elsewhere.toml";
    {
      std::ofstream(target) << spec_toml();
    }
    ::chmod(target.c_str(), 0600);
    const std::string link = dir + "/evil.toml";
    std::filesystem::create_symlink(target, link);
    REQUIRE(::lchown(link.c_str(), 4242, 4242) == 0);
    reaction(h, "foreign_symlink_error", [&] {
      Json b = h.status().bottle("evil");
      return b.is_object() && b["error"].is_string() &&
             b["error"].get<std::string>().find("symlink owned by uid 4242") != std::string::npos;
    });
    CHECK_FALSE(h.row("bottle-evil"));
  }
}

TEST_CASE("reaction: specs deleted while the daemon was down, and a folder missing at start-up",
          "[integration][reaction]") {
  TempHome h;  // removal grace 300 ms
  auto d = std::make_unique<Daemon>(h);
  d->wait_answering();
  h.write_spec("a", spec_toml());
  h.write_spec("b", spec_toml());
  Json a = h.wait_verified("a");
  h.wait_verified("b");
  REQUIRE(d->stop() == 0);

  SECTION("a spec removed meanwhile is removed after the grace from start-up") {
    h.remove_spec("b");
    d = std::make_unique<Daemon>(h);
    reaction(h, "deleted_while_down", [&] { return !h.row("bottle-b") && h.status().bottle("b").is_null(); });
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
  }
  SECTION("the folder missing at start-up is not made empty: every bottle held") {
    const std::string dir = h.bottles_dir();
    std::filesystem::rename(dir, dir + ".away");
    d = std::make_unique<Daemon>(h);
    d->wait_answering();
    h.wait_until("the missing folder reported", [&] {
      Status st = h.status();
      return st.doc.is_object() && st.doc["supervisor"]["spec_folder_problem"].is_string();
    }, kBound);
    observe_for(Ms(1000));  // three graces
    CHECK_FALSE(std::filesystem::exists(dir));
    CHECK(h.row("bottle-a"));
    CHECK(h.row("bottle-b"));
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
    std::filesystem::rename(dir + ".away", dir);
    reaction(h, "folder_back_after_start", [&] {
      return converged_now(h, "a") && converged_now(h, "b") &&
             h.status().doc["supervisor"]["spec_folder_problem"].is_null();
    });
    CHECK(h.status().bottle("a")["pid"] == a["pid"]);
  }
}

TEST_CASE("reaction: an edit made while the start runs ends with the new allowlist", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  const std::string log = install_logging_wrapper(
      h, "bottle-slow", {{"SMOLVM_SIM_HANG_SECS", "2"}, {"SMOLVM_SIM_HANG_COMMANDS", "start"}});
  h.write_spec("slow", spec_toml());
  h.wait_until("the first start running", [&] { return count_of(machine_commands(log, "bottle-slow"), "start") == 1; },
               kBound);
  h.write_spec("slow", spec_toml("[egress]\nallow = [\"10.0.0.0/8\"]"));
  const Json want = Json::array({"10.0.0.0/8", "127.0.0.16/32"});
  reaction(h, "edit_during_start", [&] {
    Json b = h.status().bottle("slow");
    return verified_running(b) && b["converged"] == true && b["allowlist"] == want &&
           h.booted_policy(b["pid"].get<std::int64_t>()) == want;
  });
}

TEST_CASE("reaction: an edit made while the stop runs ends with the new state", "[integration][reaction]") {
  TempHome h;
  Daemon d(h);
  d.wait_answering();
  const std::string log = install_logging_wrapper(
      h, "bottle-slow", {{"SMOLVM_SIM_HANG_SECS", "2"}, {"SMOLVM_SIM_HANG_COMMANDS", "stop"}});
  h.write_spec("slow", spec_toml());
  Json before = h.wait_verified("slow");
  h.write_spec("slow", spec_toml("state = \"stopped\""));
  h.wait_until("the stop running", [&] { return count_of(machine_commands(log, "bottle-slow"), "stop") == 1; },
               kBound);
  h.write_spec("slow", spec_toml("state = \"running\""));
  reaction(h, "edit_during_stop", [&] {
    Json b = h.status().bottle("slow");
    return verified_running(b) && b["converged"] == true && b["desired"] == "running";
  });
  auto cmds = machine_commands(log, "bottle-slow");
  observe_for(Ms(2000));
  CHECK(machine_commands(log, "bottle-slow").size() == cmds.size());  // and then it rests
}
