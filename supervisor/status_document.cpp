// The `status --json` document (CONTRACT §8).
#include <unistd.h>

#include "platform/kvm.h"
#include "store/state_store.h"
#include "supervisor/bottle_verdict.h"
#include "supervisor/supervisor.h"

namespace bs::supervisor {
namespace {

std::string kvm_word() {
  switch (platform::check_kvm().state) {
    case platform::KvmState::Ok: return "ok";
    case platform::KvmState::Missing: return "missing";
    case platform::KvmState::NoAccess: return "no-access";
    case platform::KvmState::NotApplicable: return "n/a";
  }
  return "n/a";
}

// The smolvm command running for a machine, as status names it.
nlohmann::json command_word(Action::Kind kind) {
  switch (kind) {
    case Action::Kind::Create: return "create";
    case Action::Kind::Start: return "start";
    case Action::Kind::Stop: return "stop";
    case Action::Kind::Delete: return "delete";
    default: return nullptr;
  }
}

nlohmann::json time_or_null(std::int64_t ms) {
  if (ms <= 0) return nullptr;
  return store::format_rfc3339(ms);
}

nlohmann::json lease_conflicts_json(const std::vector<LeaseConflict>& conflicts) {
  nlohmann::json out = nlohmann::json::array();
  for (const LeaseConflict& c : conflicts) out.push_back({{"machine", c.machine}, {"address", c.address.str()}});
  return out;
}

}  // namespace

nlohmann::json Supervisor::status_document(const std::vector<std::string>& names) {
  nlohmann::json sup;
  sup["version"] = BS_VERSION;
  sup["pid"] = ::getpid();
  sup["uptime_s"] = std::chrono::duration<double>(time_.now() - stats_.started).count();
  sup["specs"] = settings_.specs_dir;
  sup["smolvm_db"] = settings_.smolvm.db;
  sup["kvm"] = kvm_word();
  // Set while the spec folder is missing, unreadable or untrusted: every bottle is held.
  sup["spec_folder_problem"] =
      specs_.problem() ? nlohmann::json(*specs_.problem()) : nlohmann::json(nullptr);
  sup["last_resync"] = time_or_null(stats_.last_resync_ms);
  sup["last_pass_ms"] = std::chrono::duration<double, std::milli>(stats_.last_pass_duration).count();
  sup["smolvm_command_ms"] = static_cast<double>(executor_.slots().command_time().count()) / 1000.0;
  sup["counters"] = {{"patches", stats_.counters.patches}, {"drift_kills", stats_.counters.drift_kills},
                     {"starts", stats_.counters.starts},   {"stops", stats_.counters.stops},
                     {"errors", stats_.counters.errors}};
  sup["wakeups"] = {{"loop", stats_.wakeups.loop}, {"resync", stats_.wakeups.resync}, {"watchdog", stats_.wakeups.watchdog}};
  // Audit events the store could not take yet (disk full...), and those lost beyond the queue.
  sup["events_pending"] = records_.events_pending();
  sup["events_dropped"] = records_.events_dropped();
  records_.check_file();  // state.db deleted or replaced: noticed (and restored) now, not at the next write
  sup["state_db"] = records_.path();
  sup["state_db_problem"] = records_.file_problem() ? nlohmann::json(*records_.file_problem()) : nlohmann::json(nullptr);

  nlohmann::json bottles = nlohmann::json::array();
  std::vector<std::string> selected;
  for (const auto& [name, _] : bottles_) {
    if (names.empty() || std::find(names.begin(), names.end(), name) != names.end()) selected.push_back(name);
  }
  for (const std::string& name : selected) {
    Bottle& b = bottles_.get(name);
    BottleInput in = build_input(b);
    Plan plan = plan_bottle(in);
    std::optional<Allowlist> desired = desired_of(b);
    std::string machine = b.spec ? b.spec->machine : "";
    if (const auto& mine = records_.managed().of_bottle(name); machine.empty() && !mine.empty()) machine = *mine.rbegin();
    const MachineObservation* obs = nullptr;
    if (auto it = in.observed.find(machine); it != in.observed.end()) obs = &it->second;
    Assessment as = assess(obs, desired);
    // A bottle never valid is listed as observed, with confinement n/a (CONTRACT §8).
    if (!b.spec) as.confinement = Confinement::NotApplicable;

    // A command in flight (e.g. a start that hangs) is work in hand: the VM it may bring up is
    // not verified yet.
    auto in_flight = executor_.slots().in_flight().find(machine);
    if (in_flight != executor_.slots().in_flight().end() && as.confinement == Confinement::Verified &&
        (in_flight->second == Action::Kind::Create || in_flight->second == Action::Kind::Start)) {
      as.confinement = Confinement::Pending;
    }

    BottleFacts facts;
    facts.busy = queue_.processing(name) || in_flight != executor_.slots().in_flight().end();
    facts.plan_empty = plan.actions.empty();
    facts.plan_pending = plan.pending.has_value();
    facts.spec_error = b.spec_error;
    facts.exec_error = b.exec_error;
    facts.plan_error = plan.error;
    facts.folder_problem = specs_.problem();
    // Why it is waiting, when it is: a restart backoff after exits, or the retry backoff after
    // a failed step (how many failures, and when the next try is).
    nlohmann::json retry = nullptr;
    const auto steady_now = time_.now();
    auto wall_of = [&](TimePoint t) {
      return time_.wall_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(t - steady_now).count();
    };
    for (const Action& a : plan.actions) {
      if (a.kind != Action::Kind::WaitUntil) continue;
      const bool unconfined = b.restarts.unconfined_starts >= 2;
      const int count = unconfined ? b.restarts.unconfined_starts : b.restarts.exits;
      std::string last;  // how the last exit ended, when the supervisor saw it (its own child)
      if (!unconfined && b.last_exit && b.last_exit->how) last = " (the last: " + *b.last_exit->how + ")";
      std::string reason =
          unconfined ? std::to_string(count) + " VMs started in a row booted with another policy than the "
                                               "verified row's and were killed; restart backoff"
                     : "the VM exited " + std::to_string(count) + " time(s) within 10 minutes of its start" + last +
                           "; restart backoff";
      retry = {{"reason", reason}, {"count", count},
               {"next_at", time_or_null(wall_of(a.not_before))}};
      facts.restart_wait = reason + ", next start at " + store::format_rfc3339(wall_of(a.not_before));
    }
    if (removal_.absent(name)) {
      // Inside the removal grace (or its removal in progress): say when it is acted on.
      facts.removal = "spec file removed; the bottle is removed " +
                      std::string(removal_.due_in(name)
                                      ? "at " + store::format_rfc3339(time_.wall_ms() + static_cast<std::int64_t>(*removal_.due_in(name)))
                                      : "now");
    }
    const BottleVerdict verdict = judge_bottle(facts);
    const bool own_error = facts.spec_error || facts.exec_error || facts.plan_error;
    if (retry.is_null() && own_error && queue_.failures(name) > 0) {
      if (auto due = queue_.scheduled(name)) {
        retry = {{"reason", *verdict.error}, {"count", queue_.failures(name)}, {"next_at", time_or_null(wall_of(*due))}};
      }
    }

    nlohmann::json j;
    j["name"] = name;
    j["machine"] = machine;
    j["spec"] = b.spec_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.spec_path);
    auto lease = records_.lease_of(name);
    j["address"] = lease ? nlohmann::json(lease->str()) : nlohmann::json(nullptr);
    j["allowlist"] = desired ? nlohmann::json(to_strings(*desired)) : nlohmann::json::array();
    j["desired"] = !b.spec ? nlohmann::json(nullptr)
                           : nlohmann::json(b.spec->state == RunState::Running ? "running" : "stopped");
    j["actual"] = to_string(as.actual);
    j["pid"] = obs && obs->vm ? nlohmann::json(obs->vm->pid) : nlohmann::json(nullptr);
    // What the running VM booted with (agent.config.json), as the kill path judged it: a list, or
    // why it is not one ("null (unrestricted)", "pending (...)", "unreadable (...)").
    j["booted"] = obs && obs->vm ? nlohmann::json(obs->vm->booted.str()) : nlohmann::json(nullptr);
    j["confinement"] = to_string(as.confinement);
    j["in_flight"] = in_flight == executor_.slots().in_flight().end() ? nlohmann::json(nullptr) : command_word(in_flight->second);
    j["converged"] = verdict.converged;
    j["error"] = verdict.error ? nlohmann::json(*verdict.error) : nlohmann::json(nullptr);
    j["retry"] = retry;
    j["last_exit"] = !b.last_exit ? nlohmann::json(nullptr)
                                  : nlohmann::json{{"pid", b.last_exit->pid},
                                                   {"status", b.last_exit->how ? nlohmann::json(*b.last_exit->how)
                                                                               : nlohmann::json(nullptr)},
                                                   {"at", time_or_null(b.last_exit->at_ms)}};
    j["last_event"] = b.last_event.empty() ? nlohmann::json(nullptr) : nlohmann::json(b.last_event);
    j["last_event_at"] = time_or_null(b.last_event_ms);
    j["lease_conflicts"] = lease_conflicts_json(lease_conflicts_of(name));
    bottles.push_back(std::move(j));
  }
  sup["guard_kills"] = guard_.kills;
  return {{"supervisor", sup}, {"bottles", bottles}, {"guarded", guarded_document()}};
}

}  // namespace bs::supervisor
