// The executor's smolvm commands: each planned create, start, stop or delete runs in a command
// slot (CommandSlots), and what smolvm answered is turned into records, events and the bottle's
// next round. Like the rest of the executor it decides no policy: an "already exists" is left to
// the planner's next round.
#include <spdlog/spdlog.h>

#include "smolvm/cli.h"
#include "supervisor/executor.h"
#include "supervisor/logging.h"

namespace bs::supervisor {
namespace {

std::string command_error(const std::string& what, const CommandResult& r, const smolvm::CliResult& c) {
  if (!r.spawn_error.empty()) return what + ": " + r.spawn_error;
  if (r.timed_out) return what + ": timed out after " +
                              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count()) +
                              " ms (killed)";
  std::string msg = c.message;
  if (msg.empty()) msg = r.err.empty() ? r.out : r.err;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (msg.empty()) msg = "exit code " + std::to_string(r.exit_code);
  return what + ": " + msg;
}

}  // namespace

// ---- smolvm commands ------------------------------------------------------------------------

std::map<std::string, std::string> Executor::smolvm_env() const {
  std::map<std::string, std::string> env;
  if (!p_.settings.smolvm.data_root.empty()) env["SMOLVM_DATA_DIR"] = p_.settings.smolvm.data_root;
  return env;
}

void Executor::run_smolvm(Bottle& b, const Action& a) {
  // No free slot: the bottle waits in line, and is planned again when its turn comes.
  if (slots_.admit(b.name)) launch_command(b, a);
}

void Executor::launch_command(Bottle& b, const Action& a) {
  const std::string& bin = p_.settings.smolvm_bin;
  std::vector<std::string> argv;
  switch (a.kind) {
    case Action::Kind::Create: {
      smolvm::CreateArgs c;
      c.name = a.machine;
      c.image = a.shape.image;
      c.from = a.shape.from;
      c.cpus = a.shape.cpus;
      c.mem_mib = a.shape.memory_mib;
      c.allow_cidrs = to_strings(a.allowlist);
      c.labels = {{smolvm::kBottleLabel, b.name}};  // who owns it, for anyone reading `smolvm machine ls`
      argv = smolvm::create_argv(bin, c);
      break;
    }
    case Action::Kind::Start: argv = smolvm::start_argv(bin, a.machine); break;
    case Action::Kind::Stop: argv = smolvm::stop_argv(bin, a.machine); break;
    case Action::Kind::Delete: argv = smolvm::delete_argv(bin, a.machine); break;
    default: return;
  }
  spdlog::debug("bottle {}: running {}", b.name, fmt::join(argv, " "));
  slots_.run(a.machine, a.kind, argv, smolvm_env(), p_.settings.config.command_timeout,
             [this, name = b.name, action = a](CommandResult r) { on_smolvm_done(name, action, std::move(r)); });
}

bool Executor::created_row_verified(const Action& create) const {
  const smolvm::MachineRow* row = p_.rows.row(create.machine);
  if (row == nullptr || row->problem != smolvm::MachineRow::Problem::None) return false;
  return policy_of(row->record.allowed_cidrs).equals(create.allowlist);
}

void Executor::on_smolvm_done(const std::string& name, Action a, CommandResult r) {
  // smolvm's server folder appears with its first command, usually our own first create. Watch
  // it now, not at the next 2 s re-arm: a VM started out of band meanwhile would otherwise go
  // unnoticed (and unkilled) until a resync or this bottle's next round.
  if (daemon_ && !p_.rounds.stopping() && !p_.rows.watching()) p_.rows.watch();
  spdlog::debug("bottle {}: smolvm {} took {:.1f} ms (exit {})", name, to_string(a), r.elapsed.count() / 1000.0,
                r.exit_code);
  slots_.hand_out_free_slots();
  Bottle* found = p_.bottles.find(name);
  if (found == nullptr) return;
  Bottle& b = *found;
  if (p_.rounds.stopping()) {
    p_.rounds.replan(b);  // gives the step up, as every step is while the daemon stops
    return;
  }
  std::optional<std::string> err;
  using O = smolvm::CliOutcome;
  switch (a.kind) {
    case Action::Kind::Create: {
      auto c = smolvm::parse_create(r.exit_code, r.out, r.err);
      if (c.outcome == O::Ok) {
        if ((err = remember_machine(b, a, store::Origin::Created))) break;
        links_.event(b.name, a.machine, "created",
              (a.shape.image ? "image " + *a.shape.image : "from " + a.shape.from.value_or("")) +
                  " cpus " + std::to_string(a.shape.cpus) + " memory " + std::to_string(a.shape.memory_mib) +
                  ", allow " + to_string(a.allowlist));
      } else if (c.outcome == O::AlreadyExists) {
        // Someone else created it meanwhile: not ours, so the intent recorded before the create
        // goes. Whether it is adopted is the planner's decision, in the next round, which sees its
        // row.
        spdlog::info("bottle {}: machine {} already exists; planning again", b.name, a.machine);
        err = p_.records.forget_machine(a.machine);
      } else {
        err = command_error("smolvm machine create", r, c);
      }
      break;
    }
    case Action::Kind::Start: {
      auto c = smolvm::parse_start(r.exit_code, r.out, r.err);
      if (c.outcome == O::Ok) {
        ++p_.counters.starts;
        b.restarts.record_start(p_.time.now());
        links_.event(b.name, a.machine, "started", c.pid ? "pid " + std::to_string(*c.pid) : "");
      } else if (c.outcome == O::AlreadyRunning) {
        // Another start won the race; the next round checks what that VM booted with.
      } else {
        err = command_error("smolvm machine start", r, c);
      }
      break;
    }
    case Action::Kind::Stop: {
      auto c = smolvm::parse_stop(r.exit_code, r.out, r.err);
      if (c.outcome == O::Ok || c.outcome == O::NotRunning) {
        if (c.outcome == O::Ok) {
          ++p_.counters.stops;
          links_.event(b.name, a.machine, "stopped", "");
        }
        if (p_.records.verified().count(a.machine) != 0) p_.records.clear_verified_best_effort(a.machine);
        p_.vm_watch.unwatch_exit(b.name);
      } else {
        err = command_error("smolvm machine stop", r, c);
      }
      break;
    }
    case Action::Kind::Delete: {
      auto c = smolvm::parse_delete(r.exit_code, r.out, r.err);
      if (c.outcome == O::Ok || c.outcome == O::NotFound) {
        links_.event(b.name, a.machine, "deleted", a.detail);
        p_.records.clear_verified_best_effort(a.machine);
      } else {
        err = command_error("smolvm machine delete", r, c);
      }
      break;
    }
    default: break;
  }
  // The row changed under us (our own command is another connection): re-read it now. Rows of
  // OTHER machines that changed meanwhile (an out-of-band start committed at the same moment)
  // get the same at-once drift check a DB event would have given them: this read consumes the
  // data_version change, so that event will find nothing new. Our own machine is checked by the
  // bottle's next round below.
  std::set<std::string> changed = p_.rows.refresh(false);
  changed.erase(a.machine);
  links_.rows_changed(changed);
  if (!err && a.kind == Action::Kind::Create && created_row_verified(a)) {
    // smolvm stored the allowlist it was given (1.32.2 does, also with --from): verified as
    // created, nothing to patch. Otherwise the next round patches it (patched + verified).
    links_.event(b.name, a.machine, "verified", "row allowed_cidrs " + to_string(a.allowlist) + " as created");
  }
  if (err) {
    p_.rounds.fail(b, *err);
    return;
  }
  if (a.kind == Action::Kind::Create || a.kind == Action::Kind::Start || a.kind == Action::Kind::Stop ||
      a.kind == Action::Kind::Delete) {
    // Step 4 right after a start, and the re-verify after a stop's stale-copy rewrite, happen
    // in the next round, which re-reads the row and the VM: the rest of this plan is stale.
    p_.rounds.replan(b);
    return;
  }
  p_.rounds.resume(b);
}

}  // namespace bs::supervisor
