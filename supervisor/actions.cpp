// The executor's actions other than smolvm's commands: leases, records, the row patch, kills.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "platform/file_lock.h"
#include "platform/identity.h"
#include "platform/process.h"
#include "supervisor/executor.h"
#include "supervisor/logging.h"

namespace bs::supervisor {

Executor::Executor(uv_loop_t* loop, bool daemon, Parts parts, Links links, Host host)
    : daemon_(daemon),
      p_(parts),
      links_(std::move(links)),
      processes_(std::move(host.processes)),
      listeners_(std::move(host.listeners)),
      // A bottle whose turn for a command slot came is planned again: the plan that queued it may
      // be minutes old. One gone meanwhile leaves the slot to the next.
      slots_(std::move(host.smolvm),
             [this](const std::string& name) {
               if (Bottle* b = p_.bottles.find(name)) p_.rounds.replan(*b, false);
             }),
      drift_hook_(loop) {}

std::set<std::int64_t> Executor::child_pids() const {
  std::set<std::int64_t> pids = slots_.child_pids();
  pids.merge(drift_hook_.child_pids());
  return pids;
}

Executed Executor::execute(Bottle& b, const Action& a) {
  using K = Action::Kind;
  std::optional<std::string> err;
  switch (a.kind) {
    case K::AcquireLease: err = acquire_lease(b, a); break;
    case K::ReleaseLease: {
      auto lease = p_.records.lease_of(b.name);
      if (!lease) break;
      if ((err = p_.records.release_lease(b.name))) break;
      links_.event(b.name, "", "lease-released", lease->str());
      break;
    }
    case K::Adopt: err = remember_machine(b, a, store::Origin::Adopted); break;
    case K::Remember: err = remember_machine(b, a, std::nullopt); break;
    case K::Patch: err = patch_row(b, a, false); break;
    case K::Quarantine: err = patch_row(b, a, true); break;
    case K::Kill: err = kill(b, a); break;
    case K::Forget: err = p_.records.forget_machine(a.machine); break;
    case K::RecordVerified: err = record_verified(b, a); break;
    case K::RecordExit: {
      if ((err = p_.records.clear_verified(a.machine))) break;
      b.restarts.record_exit(p_.time.now());
      std::string detail = a.pid != 0 ? "pid " + std::to_string(a.pid) + " exited" : a.detail;
      if (a.pid != 0 && b.last_exit && b.last_exit->pid == a.pid && b.last_exit->how) detail += ": " + *b.last_exit->how;
      links_.event(b.name, a.machine, "exited", detail);
      break;
    }
    case K::Create:
      // The intent first: the machine is recorded as this bottle's before smolvm creates it, so a
      // crash during the create (and the spec removed meanwhile) leaves a record the next start
      // removes, not an orphan machine whose allowlist names an address leased to someone later.
      // A create that never happens leaves a record of a machine with no row: forgotten, or the
      // create retried, by the next round; "already exists" forgets it (smolvm_commands.cpp).
      if ((err = remember_machine(b, a, store::Origin::Created))) break;
      run_smolvm(b, a);
      return Executed::async();
    case K::Start:
    case K::Stop:
    case K::Delete:
      run_smolvm(b, a);
      return Executed::async();
    case K::WaitUntil: break;  // BottleRounds' own
  }
  return err ? Executed::failed(*err) : Executed::next();
}

std::optional<std::string> Executor::acquire_lease(Bottle& b, const Action& a) {
  // bot-bottle's own launcher takes the same lock while it picks an address.
  auto lock = platform::FileLock::try_acquire(p_.settings.lock_path);
  if (!lock) return "cannot lock " + p_.settings.lock_path + ": " + lock.error();
  if (!*lock) return "the bot-bottle allocation lock " + p_.settings.lock_path + " is held; retrying";

  LeaseRequest ask;
  ask.bottle = b.name;
  ask.pool = p_.settings.config.pool;
  ask.fixed = a.address;
  ask.own = p_.records.lease_of(b.name);
  auto stored = p_.records.stored_leases();
  if (!stored) return stored.error().message;
  ask.stored = std::move(*stored);
  if (!a.address) {
    ask.outside_held = links_.outside_held_addresses();
    ask.launcher = links_.launcher_address(b);
  }
  auto chosen = choose_lease(ask, *listeners_);
  if (!chosen) return chosen.error();
  if (auto e = p_.records.put_lease(b.name, *chosen, p_.time.wall_ms())) return e;
  links_.event(b.name, b.spec ? b.spec->machine : "", "lease-acquired", chosen->str());
  return std::nullopt;
}

// Records what the action was planned from (never the spec as it is now: it may have changed
// while a create ran). An origin (created or adopted) writes a new record with the action's
// shape; none (Remember) changes only on_remove of the existing record, keeping its shape: an
// on_remove change keeps the disk.
std::optional<std::string> Executor::remember_machine(Bottle& b, const Action& a,
                                                        std::optional<store::Origin> origin) {
  store::ManagedMachine m;
  m.machine = a.machine;
  m.bottle = b.name;
  m.origin = origin.value_or(store::Origin::Created);  // none: replaced by the known record's below
  m.on_remove = a.on_remove;
  m.fingerprint = machine_fingerprint(a.shape);
  m.since_ms = p_.time.wall_ms();
  auto known = p_.records.managed().find(a.machine);
  if (known != p_.records.managed().end() && known->second.bottle == b.name) {
    m.since_ms = known->second.since_ms;
    if (!origin) {
      m.origin = known->second.origin;
      m.fingerprint = known->second.fingerprint;
    }
  } else if (!origin) {
    return "machine " + a.machine + " is not managed by this bottle";
  }
  bool is_new = known == p_.records.managed().end();
  if (auto e = p_.records.put_machine(m)) return e;
  if (is_new && origin == store::Origin::Adopted) links_.event(b.name, a.machine, "adopted", "existing machine is now managed");
  return std::nullopt;
}

std::optional<std::string> Executor::patch_row(Bottle& b, const Action& a, bool quarantine) {
  smolvm::RecordPatch patch;
  if (quarantine) {
    patch.network = false;
    patch.allowed_cidrs = std::vector<std::string>{};
  } else {
    patch.allowed_cidrs = to_strings(a.allowlist);
  }
  std::optional<smolvm::PatchResult> patched = p_.rows.patch(a.machine, patch);  // the snapshot takes its row
  if (!patched) return "cannot verify: smolvm DB " + p_.settings.smolvm.db + " is not available";
  const smolvm::PatchResult& r = *patched;
  switch (r.outcome) {
    case smolvm::PatchOutcome::Patched:
      ++p_.counters.patches;
      if (quarantine) {
        links_.event(b.name, a.machine, "quarantined", "network false, allowed_cidrs []; verified");
      } else {
        links_.event(b.name, a.machine, "patched", a.detail + ", now " + to_string(a.allowlist));
        links_.event(b.name, a.machine, "verified", "row allowed_cidrs " + to_string(a.allowlist));
      }
      return std::nullopt;
    case smolvm::PatchOutcome::AlreadyEqual:
      if (quarantine) links_.event(b.name, a.machine, "quarantined", "row already quarantined");
      return std::nullopt;
    case smolvm::PatchOutcome::Busy:
      return "smolvm DB is busy; retrying";
    default:
      return "cannot verify: " + std::string(smolvm::to_string(r.outcome)) + ": " + r.message;
  }
}

std::optional<std::string> Executor::kill(Bottle& b, const Action& a) {
  const KillReport r = kill_vm(*processes_, a, p_.settings.smolvm.vm_command_line(a.machine));
  // Whatever that pid was, it is not the process remembered under it any more (or soon not):
  // later looks in this same loop iteration must read /proc again, and it is nobody's stray.
  if (r.result != KillReport::Result::Failed) p_.vm_watch.forget(a.pid);
  switch (r.result) {
    case KillReport::Result::Killed: {
      if (r.drift) ++p_.counters.drift_kills;
      // A VM killed while our start of its machine runs is that start's VM: counted as one of
      // ours that booted unconfined, so a smolvm that boots every VM unconfined backs off.
      const auto running = slots_.in_flight().find(a.machine);
      b.restarts.record_kill(p_.time.now(), running != slots_.in_flight().end() && running->second == Action::Kind::Start);
      const std::int64_t ts_ms = links_.event(b.name, a.machine, r.event_kind, r.detail);
      if (r.drift) {
        drift_hook_.run(p_.settings.config.on_drift_kill, JournalEvent{b.name, a.machine, r.event_kind, r.detail}, ts_ms);
      }
      if (auto v = p_.records.verified().find(a.machine); v != p_.records.verified().end() && v->second.pid == a.pid) {
        p_.records.clear_verified_best_effort(a.machine);
      }
      p_.vm_watch.unwatch_exit(b.name, a.pid);
      p_.queue.add(b.name);  // the confined restart follows at once
      return std::nullopt;
    }
    case KillReport::Result::NotThere:
      spdlog::info("bottle {}: not killing pid {}: {}", b.name, a.pid, r.detail);
      return std::nullopt;
    case KillReport::Result::Failed:
      return r.detail;
  }
  return std::nullopt;
}

std::optional<std::string> Executor::record_verified(Bottle& b, const Action& a) {
  store::VerifiedVm v;
  v.machine = a.machine;
  v.pid = a.pid;
  v.start_time = a.start_time;
  v.allowlist = a.allowlist;
  v.verified_ms = p_.time.wall_ms();
  bool new_vm = true;
  if (auto it = p_.records.verified().find(a.machine); it != p_.records.verified().end()) {
    new_vm = it->second.pid != a.pid || it->second.start_time != a.start_time;
  }
  if (auto e = p_.records.put_verified(v)) return e;
  if (new_vm) {
    if (!b.restarts.last_start) b.restarts.record_start(p_.time.now());
    b.restarts.record_verified();
    links_.event(b.name, a.machine, "verified",
          "pid " + std::to_string(a.pid) + " booted with " + to_string(a.allowlist));
  }
  p_.vm_watch.watch_exit(b.name, a.pid);
  return std::nullopt;
}

}  // namespace bs::supervisor
