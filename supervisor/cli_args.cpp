#include "supervisor/cli_args.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "reconcile/duration.h"
#include "supervisor/closest_word.h"
#include "supervisor/status_table.h"

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
  kSince = 1u << 6,   // --since --until
  kTail = 1u << 7,    // -n/--tail --kind
  kOutput = 1u << 8,  // -o/--output
  kWatch = 1u << 9,
  kExplain = 1u << 10,
  kAll = 1u << 11,
  kMachine = 1u << 12,
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
    CommandInfo{Command::Status, "status", kPaths | kConfig | kJson | kOutput | kWatch | kAll, "NAME", false},
    CommandInfo{Command::Reconcile, "reconcile", kPaths | kConfig | kJson | kOnce, "", false},
    CommandInfo{Command::Events, "events", kPaths | kConfig | kJson | kFollow | kBottle | kSince | kTail, "", false},
    CommandInfo{Command::Validate, "validate", kConfig | kExplain, "FILE", false},
    CommandInfo{Command::Preflight, "preflight", kPaths | kConfig, "", false},
    CommandInfo{Command::Leases, "leases", kPaths | kConfig | kJson, "", false},
    CommandInfo{Command::Adopt, "adopt", kPaths | kConfig | kJson | kMachine, "NAME", true},
    CommandInfo{Command::Release, "release", kPaths | kConfig | kJson, "NAME", true},
};

struct ValueOption {
  const char* flag;
  unsigned needs;
  const char* metavar;
};

// In the order --help lists them: the command's own options first, then the shared paths.
constexpr std::array kValueOptions = {
    ValueOption{"--output", kOutput, "FORMAT"},    ValueOption{"--bottle", kBottle, "NAME"},
    ValueOption{"--since", kSince, "WHEN"},        ValueOption{"--until", kSince, "WHEN"},
    ValueOption{"--tail", kTail, "N"},             ValueOption{"--kind", kTail, "KIND"},
    ValueOption{"--machine", kMachine, "M"},
    ValueOption{"--specs", kPaths, "DIR"},         ValueOption{"--state-dir", kPaths, "DIR"},
    ValueOption{"--socket", kPaths, "PATH"},       ValueOption{"--config", kConfig, "FILE"},
    ValueOption{"--smolvm", kPaths, "PATH"},       ValueOption{"--smolvm-data-dir", kPaths, "ROOT"},
};

struct FlagOption {
  const char* flag;
  unsigned needs;
};

constexpr std::array kFlagOptions = {
    FlagOption{"--json", kJson},
    FlagOption{"--once", kOnce},
    FlagOption{"--follow", kFollow},
    FlagOption{"--all", kAll},
    FlagOption{"--watch", kWatch},
    FlagOption{"--explain", kExplain},
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
    // "-h status" means "help status"; "--version" stands alone.
    if (first == "help" || first == "--help" || first == "-h") return parse_help_command();
    if (first == "--version") {
      if (args_.size() > 1) {
        return bs::unexpected(UsageError{"'--version' takes no arguments (got '" + args_[1] + "')",
                                         help_hint(nullptr)});
      }
      inv.action = Invocation::Action::Version;
      return inv;
    }
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
      return bs::unexpected(UsageError{"'" + args_[0] + "' takes at most one command", help_hint(nullptr)});
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
      // The short forms: -o (status), -n and -f (events, as in tail).
      if (arg == "-o") flag = "--output";
      else if (arg == "-n") flag = "--tail";
      else if (arg == "-f") flag = "--follow";
      else if (arg == "-w") flag = "--watch";
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
    if ((c.command == Command::Adopt || c.command == Command::Release) && inv.operands.size() > 1) {
      return UsageError{"'" + std::string(c.name) + "' takes one NAME (got " + std::to_string(inv.operands.size()) + ")",
                        help_hint(&c)};
    }
    if (c.command == Command::Adopt && !inv.machine) {
      return UsageError{"'adopt' needs --machine M (the smolvm machine the bottle's spec names)", help_hint(&c)};
    }
    if (inv.explain && inv.operands.size() != 1) {
      return UsageError{"'--explain' takes exactly one FILE", help_hint(&c)};
    }
    if (inv.json && inv.output != Invocation::Output::Table) {
      return UsageError{"'--json' cannot be combined with '--output'", help_hint(&c)};
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
      if (f.needs == kAll) inv.all = true;
      if (f.needs == kWatch) inv.watch = true;
      if (f.needs == kExplain) inv.explain = true;
      return std::nullopt;
    }
    for (const auto& v : kValueOptions) {
      if (flag != v.flag || (c.options & v.needs) == 0) continue;
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args_.size() &&
                 (!looks_like_option(args_[i + 1]) || (v.needs == kSince && is_negative_number(args_[i + 1])))) {
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
  static bool is_negative_number(const std::string& s) {
    return s.size() > 1 && s[0] == '-' && s[1] >= '0' && s[1] <= '9';
  }

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
    else if (flag == "--machine") inv.machine = std::move(value);
    else if (flag == "--since" || flag == "--until") {
      // An RFC 3339 time, or a duration back from now: "--since -5s" reads naturally as "since
      // five seconds ago", the same as "--since 5s" (both only ever look back).
      if (auto at = parse_rfc3339(value)) {
        (flag == "--since" ? inv.since_at_ms : inv.until_at_ms) = *at;
        return std::nullopt;
      }
      if (is_negative_number(value)) value.erase(0, 1);
      auto d = parse_lookback(value);
      if (!d) return UsageError{"option '" + std::string(flag) + "': " + d.error(), help_hint(&c)};
      (flag == "--since" ? inv.since : inv.until) = *d;
    } else if (flag == "--tail") {
      std::size_t n = 0;
      for (char ch : value) {
        if (ch < '0' || ch > '9' || n > 1'000'000'000) {
          return UsageError{"option '" + std::string(flag) + "': \"" + value + "\" is not a count (e.g. 20)",
                            help_hint(&c)};
        }
        n = n * 10 + static_cast<std::size_t>(ch - '0');
      }
      inv.tail = n;
    } else if (flag == "--kind") {
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        std::string kind = value.substr(start, comma - start);
        if (kind.empty()) {
          return UsageError{"option '--kind': an empty kind in \"" + value + "\"", help_hint(&c)};
        }
        inv.kinds.push_back(std::move(kind));
        start = comma + 1;
      }
    } else if (flag == "--output") {
      if (value == "table") inv.output = Invocation::Output::Table;
      else if (value == "wide") inv.output = Invocation::Output::Wide;
      else if (value == "name") inv.output = Invocation::Output::Name;
      else {
        return UsageError{"option '--output': \"" + value + "\" is not a format (table, wide or name)",
                          help_hint(&c)};
      }
    }
    return std::nullopt;
  }

  // A duration back from now: parse_duration's units, and "d" for days.
  static bs::Expected<std::chrono::milliseconds, std::string> parse_lookback(const std::string& value) {
    if (value.size() > 1 && value.back() == 'd') {
      std::int64_t days = 0;
      bool digits = true;
      for (std::size_t k = 0; k + 1 < value.size(); ++k) {
        if (value[k] < '0' || value[k] > '9' || days > 100'000) digits = false;
        else days = days * 10 + (value[k] - '0');
      }
      if (digits) return std::chrono::milliseconds(days * 86'400'000);
    }
    auto d = parse_duration(value);
    if (!d) {
      return bs::unexpected("\"" + value + "\" is neither a duration (ms, s, m, h, d, e.g. \"30s\") nor an "
                            "RFC 3339 time (e.g. \"2026-11-29T12:00:00Z\")");
    }
    return *d;
  }

  const std::vector<std::string>& args_;
};

}  // namespace

const char* command_name(Command c) { return info_of(c).name; }

bs::Expected<Invocation, UsageError> parse_args(const std::vector<std::string>& args) {
  return Parser(args).parse();
}

std::vector<std::string> accepted_options(Command command) {
  const CommandInfo& c = info_of(command);
  std::vector<std::string> flags;
  for (const auto& f : kFlagOptions) {
    if ((c.options & f.needs) != 0) flags.emplace_back(f.flag);
  }
  for (const auto& v : kValueOptions) {
    if ((c.options & v.needs) != 0) flags.push_back(std::string(v.flag) + " " + v.metavar);
  }
  return flags;
}

}  // namespace bs::supervisor
