#include <string_view>
#include <utility>

#include "supervisor/cli_args.h"

namespace bs::supervisor {
namespace {

// What each option does; which command takes which comes from the parser (accepted_options), so
// the help can neither miss an option nor list one that is refused.
std::string describe(Command command, std::string_view option) {
  static const std::pair<std::string_view, std::string_view> kDescriptions[] = {
      {"--once", "one pass in this process, no daemon"},
      {"--follow", "keep printing new events until interrupted (-f)"},
      {"--explain", "what the daemon would make of FILE: machine, address, allowlist, actions"},
      {"--watch", "redraw when the state changes (polls every second) until interrupted (-w)"},
      {"--bottle NAME", "only this bottle's events"},
      {"--all", "also list every smolvm machine no spec manages (guarded, unmanaged)"},
      {"--machine M", "the smolvm machine to adopt (the bottle's spec must name it)"},
      {"--since WHEN", "only events at or after WHEN: a duration ago (90s, 10m, 2h, 3d) or an\n"
                       "                         RFC 3339 time (2026-11-29T12:00:00Z)"},
      {"--until WHEN", "only events before WHEN (same forms as --since)"},
      {"--tail N", "only the last N matching events (-n N); with --follow, printed first"},
      {"--kind KIND", "only events of this kind (repeatable, or a comma list)"},
      {"--output FORMAT", "table (fits the terminal), wide (nothing cut) or name (one per line)"},
      {"--specs DIR", "bottle spec folder (default $XDG_CONFIG_HOME/bottle-supervisor/bottles)"},
      {"--state-dir DIR", "state folder (default $XDG_STATE_HOME/bottle-supervisor)"},
      {"--socket PATH",
       "control socket (default $XDG_RUNTIME_DIR/bottle-supervisor/control.sock,\n"
       "                         else <state dir>/control.sock)"},
      {"--config FILE", "config file (default $XDG_CONFIG_HOME/bottle-supervisor/config.toml)"},
      {"--smolvm PATH", "the smolvm binary (default: smolvm on PATH)"},
      {"--smolvm-data-dir ROOT", "smolvm's data root, passed on as SMOLVM_DATA_DIR"},
  };
  if (option == "--json") {
    if (command == Command::Leases) return "print the leases as a JSON document";
    if (command == Command::Adopt || command == Command::Release) return "print the daemon's reply as JSON";
    return command == Command::Events ? "one JSON object per line (JSON Lines)" : "print the status document as JSON";
  }
  for (const auto& [name, text] : kDescriptions) {
    if (name == option) return std::string(text);
  }
  return {};
}

std::string command_help(Command command) {
  std::string s;
  switch (command) {
    case Command::Run:
      s = "usage: bottle-supervisor run [options]\n\n"
          "Runs the daemon in the foreground (this is what systemd starts): watches the spec folder\n"
          "and smolvm's DB and keeps every bottle confined. One instance per state folder.\n"
          "SIGTERM/SIGINT stop it and leave VMs running; SIGHUP re-reads the config file.\n";
      break;
    case Command::Status:
      s = "usage: bottle-supervisor status [--json | -o table|wide|name] [--watch] [--all] [options] [NAME...]\n\n"
          "Asks the running daemon for the state of every bottle (or only the NAMEs given) and\n"
          "prints a table, or with --json the status document. With --all the table also lists\n"
          "every smolvm machine no spec manages (guarded by a [[guard]] rule, or unmanaged).\n";
      break;
    case Command::Reconcile:
      s = "usage: bottle-supervisor reconcile [--json] [options]\n"
          "       bottle-supervisor reconcile --once [--json] [options]\n\n"
          "Asks the running daemon for a full pass now, waits for it, and prints the result like\n"
          "'status'. With --once no daemon is involved: one full pass runs in this process (it\n"
          "takes the daemon's single-instance lock), prints what it did (one line per bottle and\n"
          "action, from the events it wrote; with --json those events as JSON Lines) and exits.\n";
      break;
    case Command::Events:
      s = "usage: bottle-supervisor events [--json] [-f] [-n N] [--bottle NAME] [--kind KIND]\n"
          "                              [--since WHEN] [--until WHEN] [options]\n\n"
          "Prints the audit log from the state DB, oldest first: TIME BOTTLE MACHINE KIND DETAIL,\n"
          "or with --json one JSON object per line (ts, bottle, machine, kind, detail).\n";
      break;
    case Command::Validate:
      s = "usage: bottle-supervisor validate [--config FILE] [FILE...]\n"
          "       bottle-supervisor validate --explain [--config FILE] FILE\n\n"
          "Checks each spec file on its own, as the daemon would read it (name, syntax, keys, values,\n"
          "owner and permissions). Prints '<file>: ok' for a valid file, and one line\n"
          "'<file>:<line>:<col>: <message>' per problem of an invalid one, on stdout. Loopback\n"
          "addresses are checked against the pool of the config file, if there is one.\n"
          "Without FILE it checks the configured spec folder as a whole, conflicts between files\n"
          "included (two specs with the same machine or the same fixed loopback: the file whose\n"
          "name sorts first wins). --explain prints the effective machine, address, allowlist and\n"
          "what the supervisor would do with FILE.\n";
      break;
    case Command::Leases:
      s = "usage: bottle-supervisor leases [--json] [options]\n\n"
          "Prints the loopback addresses the supervisor has leased (BOTTLE ADDRESS MACHINE), read\n"
          "from the state DB without the daemon. Launchers such as bot-bottle skip these addresses\n"
          "when they pick one for their own machines.\n";
      break;
    case Command::Adopt:
      s = "usage: bottle-supervisor adopt [--json] --machine M [options] NAME\n\n"
          "Takes machine M into management as bottle NAME (whose spec must name M) without\n"
          "restarting its VM: the bottle leases the loopback address M already allows.\n";
      break;
    case Command::Release:
      s = "usage: bottle-supervisor release [--json] [options] NAME\n\n"
          "Hands bottle NAME's machine back without stopping or deleting it: the machine is no\n"
          "longer managed and the lease is released. Remove NAME's spec first (release it within\n"
          "the removal grace).\n";
      break;
    case Command::Preflight:
      s = "usage: bottle-supervisor preflight [options]\n\n"
          "Checks this host: /dev/kvm, the smolvm binary and its version, smolvm's DB, the spec and\n"
          "state folders, other smolvm processes that manage machines, and the loopback pool.\n"
          "Prints one line per check (ok, warn or FAIL), with a hint below each problem.\n";
      break;
  }
  s += "\noptions:\n";
  for (const auto& option : accepted_options(command)) {
    std::string line = "  " + option;
    line += std::string(line.size() < 25 ? 25 - line.size() : 1, ' ');
    s += line + describe(command, option) + "\n";
  }
  s += "  -h, --help             show this help\n"
       "      --version          print the version\n"
       "\n"
       "Options take their value as '--opt VALUE' or '--opt=VALUE'.\n";
  s += "\nexit status:\n";
  switch (command) {
    case Command::Run: s += "  0 clean stop, 1 startup error, 2 usage error\n"; break;
    case Command::Status:
    case Command::Reconcile:
      s += "  0 every shown bottle converged, 1 some did not (or an unknown NAME), 2 usage error,\n"
           "  3 the daemon is not running\n";
      break;
    case Command::Events: s += "  0 ok, 1 the state DB cannot be read, 2 usage error\n"; break;
    case Command::Validate: s += "  0 every file valid, 1 some invalid, 2 usage error\n"; break;
    case Command::Preflight: s += "  0 no blocking problem, 1 some check FAILed, 2 usage error\n"; break;
    case Command::Leases: s += "  0 ok, 1 the state DB cannot be read, 2 usage error\n"; break;
    case Command::Adopt:
    case Command::Release:
      s += "  0 done, 1 refused (the reason is printed), 2 usage error, 3 the daemon is not running\n";
      break;
  }
  return s;
}

}  // namespace

std::string usage_text(std::optional<Command> command) {
  if (command) return command_help(*command);
  return "bottle-supervisor " BS_VERSION
         ": keeps smolvm bottles confined to their egress allowlist\n"
         "\n"
         "usage: bottle-supervisor <command> [options]\n"
         "\n"
         "commands:\n"
         "  run                 run the daemon in the foreground (what systemd starts)\n"
         "  status [NAME...]    show every bottle's state, from the running daemon\n"
         "  reconcile           ask the daemon for a full pass now and wait for it\n"
         "  reconcile --once    one full pass without a daemon, then exit\n"
         "  events              print the audit log\n"
         "  validate FILE...    check bottle spec files\n"
         "  preflight           check this host for what the supervisor needs\n"
         "  leases              print the leased loopback addresses (for launchers)\n"
         "  adopt NAME --machine M   take a running machine into management\n"
         "  release NAME        hand a bottle's machine back without stopping it\n"
         "\n"
         "options:\n"
         "  -h, --help          show this help; 'bottle-supervisor <command> --help' for a command\n"
         "      --version       print the version\n";
}

}  // namespace bs::supervisor
