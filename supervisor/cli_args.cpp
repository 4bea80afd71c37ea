#include "supervisor/cli_args.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "reconcile/duration.h"

namespace bs::supervisor {
namespace {

// Which options a command takes. Path flags are the CONTRACT §2 overrides.
enum Opt : unsigned {
  kPaths = 1u << 0,   // --specs --state-dir --socket --smolvm --smolvm-data-dir
  kConfig = 1u << 1,  // --config
  kJson = 1u << 2,
  kOnce = 1u << 3,
  kFollow = 1u << 4,
  kBottle = 1u << 5,
  kSince = 1u << 6,
};

struct CommandInfo {
  Command command;
  const char* name;
  unsigned options;
  const char* operands;  // "" when the command takes none
  bool operands_required;
};

constexpr std::array kCommands = {
    CommandInfo{Command::Run, "run", kPaths | kConfig, "", false},
    CommandInfo{Command::Status, "status", kPaths | kConfig | kJson, "NAME", false},
    CommandInfo{Command::Reconcile, "reconcile", kPaths | kConfig | kJson | kOnce, "", false},
    CommandInfo{Command::Events, "events", kPaths | kConfig | kJson | kFollow | kBottle | kSince, "", false},
    CommandInfo{Command::Validate, "validate", kConfig, "FILE", true},
    CommandInfo{Command::Preflight, "preflight", kPaths | kConfig, "", false},
};

struct ValueOption {
  const char* flag;
  unsigned needs;
  const char* metavar;
};

constexpr std::array kValueOptions = {
    ValueOption{"--specs", kPaths, "DIR"},         ValueOption{"--state-dir", kPaths, "DIR"},
    ValueOption{"--socket", kPaths, "PATH"},       ValueOption{"--config", kConfig, "FILE"},
    ValueOption{"--smolvm", kPaths, "PATH"},       ValueOption{"--smolvm-data-dir", kPaths, "ROOT"},
    ValueOption{"--bottle", kBottle, "NAME"},      ValueOption{"--since", kSince, "DUR"},
};

struct FlagOption {
  const char* flag;
  unsigned needs;
};

constexpr std::array kFlagOptions = {
    FlagOption{"--json", kJson},
    FlagOption{"--once", kOnce},
    FlagOption{"--follow", kFollow},
};

const CommandInfo* find_command(std::string_view name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const CommandInfo& info_of(Command command) {
  for (const auto& c : kCommands) {
    if (c.command == command) return c;
  }
  return kCommands.front();  // unreachable: every Command is in the table
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest known word within two edits, so a typo gets a "did you mean" hint.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& known) {
  std::optional<std::string> best;
  std::size_t best_distance = 3;
  for (const auto& k : known) {
    std::size_t d = edit_distance(word, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

std::string help_hint(const CommandInfo* c) {
  if (c == nullptr) return "see 'bottle-supervisor --help'";
  return std::string("see 'bottle-supervisor ") + c->name + " --help'";
}

UsageError unknown_option(std::string_view flag, const CommandInfo& c) {
  std::vector<std::string> known = {"--help", "--version"};
  for (const auto& v : kValueOptions) {
    if ((c.options & v.needs) != 0) known.emplace_back(v.flag);
  }
  for (const auto& f : kFlagOptions) {
    if ((c.options & f.needs) != 0) known.emplace_back(f.flag);
  }
  std::string hint = help_hint(&c);
  if (auto guess = closest(flag, known)) hint = "did you mean '" + *guess + "'? " + hint;
  return {"unknown option '" + std::string(flag) + "' for '" + c.name + "'", hint};
}

class Parser {
 public:
  explicit Parser(const std::vector<std::string>& args) : args_(args) {}

  bs::Expected<Invocation, UsageError> parse() {
    Invocation inv;
    if (args_.empty()) {
      return bs::unexpected(UsageError{"no command given", help_hint(nullptr)});
    }
    const std::string& first = args_[0];
    if (first == "--help" || first == "-h") {
      inv.action = Invocation::Action::Help;
      return inv;
    }
    if (first == "--version") {
      inv.action = Invocation::Action::Version;
      return inv;
    }
    if (first == "help") return parse_help_command();
    if (!first.empty() && first[0] == '-') {
      return bs::unexpected(UsageError{"unknown option '" + first + "' (a command comes first)",
                                       help_hint(nullptr)});
    }
    const CommandInfo* c = find_command(first);
    if (c == nullptr) {
      std::vector<std::string> names;
      for (const auto& k : kCommands) names.emplace_back(k.name);
      std::string hint = help_hint(nullptr);
      if (auto guess = closest(first, names)) hint = "did you mean '" + *guess + "'? " + hint;
      return bs::unexpected(UsageError{"unknown command '" + first + "'", hint});
    }
    inv.command = c->command;
    if (auto err = parse_options(*c, inv)) return bs::unexpected(std::move(*err));
    return inv;
  }

 private:
  bs::Expected<Invocation, UsageError> parse_help_command() {
    Invocation inv;
    inv.action = Invocation::Action::Help;
    if (args_.size() > 2) {
      return bs::unexpected(UsageError{"'help' takes at most one command", help_hint(nullptr)});
    }
    if (args_.size() == 2) {
      const CommandInfo* c = find_command(args_[1]);
      if (c == nullptr) {
        return bs::unexpected(UsageError{"unknown command '" + args_[1] + "'", help_hint(nullptr)});
      }
      inv.command = c->command;
    }
    return inv;
  }

  std::optional<UsageError> parse_options(const CommandInfo& c, Invocation& inv) {
    bool only_operands = false;
    bool help = false;
    bool version = false;
    for (std::size_t i = 1; i < args_.size(); ++i) {
      const std::string& arg = args_[i];
      if (only_operands || arg.empty() || arg[0] != '-' || arg == "-") {
        if (*c.operands == '\0') {
          return UsageError{"'" + std::string(c.name) + "' takes no arguments (got '" + arg + "')",
                            help_hint(&c)};
        }
        inv.operands.push_back(arg);
        continue;
      }
      if (arg == "--") {
        only_operands = true;
        continue;
      }
      if (arg == "--help" || arg == "-h") {
        help = true;
        continue;
      }
      if (arg == "--version") {
        version = true;
        continue;
      }
      std::string_view flag = arg;
      std::optional<std::string> inline_value;
      if (auto eq = flag.find('='); eq != std::string_view::npos && flag.rfind("--", 0) == 0) {
        inline_value = std::string(flag.substr(eq + 1));
        flag = flag.substr(0, eq);
      }
      if (auto err = apply_option(c, flag, inline_value, i, inv)) return err;
    }
    if (help) {
      inv.action = Invocation::Action::Help;
      return std::nullopt;
    }
    if (version) {
      inv.action = Invocation::Action::Version;
      return std::nullopt;
    }
    if (c.operands_required && inv.operands.empty()) {
      return UsageError{"'" + std::string(c.name) + "' needs at least one " + c.operands,
                        help_hint(&c)};
    }
    if (inv.once && inv.json) {
      return UsageError{"'--json' cannot be combined with '--once'", help_hint(&c)};
    }
    return std::nullopt;
  }

  std::optional<UsageError> apply_option(const CommandInfo& c, std::string_view flag,
                                         const std::optional<std::string>& inline_value,
                                         std::size_t& i, Invocation& inv) {
    for (const auto& f : kFlagOptions) {
      if (flag != f.flag || (c.options & f.needs) == 0) continue;
      if (inline_value) {
        return UsageError{"option '" + std::string(flag) + "' takes no value", help_hint(&c)};
      }
      if (f.needs == kJson) inv.json = true;
      if (f.needs == kOnce) inv.once = true;
      if (f.needs == kFollow) inv.follow = true;
      return std::nullopt;
    }
    for (const auto& v : kValueOptions) {
      if (flag != v.flag || (c.options & v.needs) == 0) continue;
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args_.size() && !looks_like_option(args_[i + 1])) {
        value = args_[++i];
      } else {
        return UsageError{"option '" + std::string(flag) + "' needs a value (" + v.metavar + ")",
                          help_hint(&c)};
      }
      if (value.empty()) {
        return UsageError{"option '" + std::string(flag) + "' needs a non-empty value (" +
                              v.metavar + ")",
                          help_hint(&c)};
      }
      return store_value(c, flag, std::move(value), inv);
    }
    return unknown_option(flag, c);
  }

  // "--specs --json" is a forgotten value, not a directory named "--json"; "--specs=-x" still
  // works for the rare path that starts with a dash.
  static bool looks_like_option(const std::string& s) { return s.size() > 1 && s[0] == '-'; }

  static std::optional<UsageError> store_value(const CommandInfo& c, std::string_view flag,
                                               std::string value, Invocation& inv) {
    CommonFlags& f = inv.common;
    if (flag == "--specs") f.specs = std::move(value);
    else if (flag == "--state-dir") f.state_dir = std::move(value);
    else if (flag == "--socket") f.socket = std::move(value);
    else if (flag == "--config") f.config = std::move(value);
    else if (flag == "--smolvm") f.smolvm = std::move(value);
    else if (flag == "--smolvm-data-dir") f.smolvm_data_dir = std::move(value);
    else if (flag == "--bottle") inv.bottle = std::move(value);
    else if (flag == "--since") {
      auto d = parse_duration(value);
      if (!d) return UsageError{"option '--since': " + d.error(), help_hint(&c)};
      inv.since = *d;
    }
    return std::nullopt;
  }

  const std::vector<std::string>& args_;
};

constexpr const char* kPathOptionsHelp =
    "  --specs DIR            bottle spec folder (default $XDG_CONFIG_HOME/bottle-supervisor/bottles)\n"
    "  --state-dir DIR        state folder (default $XDG_STATE_HOME/bottle-supervisor)\n"
    "  --socket PATH          control socket (default $XDG_RUNTIME_DIR/bottle-supervisor/control.sock,\n"
    "                         else <state dir>/control.sock)\n"
    "  --smolvm PATH          the smolvm binary (default: smolvm on PATH)\n"
    "  --smolvm-data-dir ROOT smolvm's data root, passed on as SMOLVM_DATA_DIR\n";

constexpr const char* kConfigOptionHelp =
    "  --config FILE          config file (default $XDG_CONFIG_HOME/bottle-supervisor/config.toml)\n";

constexpr const char* kCommonTail =
    "  -h, --help             show this help\n"
    "      --version          print the version\n"
    "\n"
    "Options take their value as '--opt VALUE' or '--opt=VALUE'.\n";

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
      s = "usage: bottle-supervisor status [--json] [options] [NAME...]\n\n"
          "Asks the running daemon for the state of every bottle (or only the NAMEs given) and\n"
          "prints a table, or with --json the status document.\n";
      break;
    case Command::Reconcile:
      s = "usage: bottle-supervisor reconcile [--json] [options]\n"
          "       bottle-supervisor reconcile --once [options]\n\n"
          "Asks the running daemon for a full pass now, waits for it, and prints the result like\n"
          "'status'. With --once no daemon is involved: one full pass runs in this process (it\n"
          "takes the daemon's single-instance lock), then it exits.\n";
      break;
    case Command::Events:
      s = "usage: bottle-supervisor events [--json] [--follow] [--bottle NAME] [--since DUR] [options]\n\n"
          "Prints the audit log from the state DB, oldest first: TIME BOTTLE MACHINE KIND DETAIL,\n"
          "or with --json one JSON object per line (ts, bottle, machine, kind, detail).\n";
      break;
    case Command::Validate:
      s = "usage: bottle-supervisor validate [--config FILE] FILE...\n\n"
          "Checks each spec file on its own, as the daemon would read it (name, syntax, keys, values,\n"
          "owner and permissions). Prints '<file>: ok' for a valid file, and one line\n"
          "'<file>:<line>:<col>: <message>' per problem of an invalid one, on stdout. Loopback\n"
          "addresses are checked against the pool of the config file, if there is one.\n";
      break;
    case Command::Preflight:
      s = "usage: bottle-supervisor preflight [options]\n\n"
          "Checks this host: /dev/kvm, the smolvm binary and its version, smolvm's DB, the spec and\n"
          "state folders, other smolvm processes that manage machines, and the loopback pool.\n"
          "Prints one line per check (ok, warn or FAIL), with a hint below each problem.\n";
      break;
  }
  s += "\noptions:\n";
  const CommandInfo& c = info_of(command);
  if ((c.options & kJson) != 0) {
    s += command == Command::Events ? "  --json                 one JSON object per line (JSON Lines)\n"
                                    : "  --json                 print the status document as JSON\n";
  }
  if ((c.options & kOnce) != 0) s += "  --once                 one pass in this process, no daemon\n";
  if ((c.options & kFollow) != 0) {
    s += "  --follow               keep printing new events until interrupted\n";
  }
  if ((c.options & kBottle) != 0) s += "  --bottle NAME          only this bottle's events\n";
  if ((c.options & kSince) != 0) {
    s += "  --since DUR            only events newer than DUR ago (e.g. 90s, 10m, 2h)\n";
  }
  if ((c.options & kPaths) != 0) s += kPathOptionsHelp;
  if ((c.options & kConfig) != 0) s += kConfigOptionHelp;
  s += kCommonTail;
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
  }
  return s;
}

}  // namespace

const char* command_name(Command c) { return info_of(c).name; }

bs::Expected<Invocation, UsageError> parse_args(const std::vector<std::string>& args) {
  return Parser(args).parse();
}

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
         "\n"
         "options:\n"
         "  -h, --help          show this help; 'bottle-supervisor <command> --help' for a command\n"
         "      --version       print the version\n";
}

}  // namespace bs::supervisor
