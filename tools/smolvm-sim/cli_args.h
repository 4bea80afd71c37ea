// A small clap-alike for the `machine` subcommands: long/short flags, `--flag=value`, repeatable
// options, a trailing `-- args...`, and clap's error texts (exit 2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/expected.h"
#include "tools/smolvm-sim/sim_error.h"

namespace bs::sim {

struct FlagSpec {
  std::string long_name;   // "name" for --name
  char short_name = 0;     // 'n' for -n, 0 for none
  std::string value_name;  // "NAME"; empty for a boolean switch
  bool repeatable = false;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;  // by long name
  std::vector<std::string> trailing;                        // after `--`
  bool help = false;

  bool has(const std::string& flag) const { return values.count(flag) > 0; }
  std::optional<std::string> one(const std::string& flag) const;
  std::vector<std::string> all(const std::string& flag) const;
};

struct CommandSpec {
  std::string usage;  // "smolvm machine start [OPTIONS]"
  std::vector<FlagSpec> flags;
  std::vector<std::string> required;  // long names that must be given
  bool trailing_allowed = false;
};

Expected<ParsedArgs, SimError> parse_args(const std::vector<std::string>& args, const CommandSpec& spec);

// clap's text for a value its parser rejected (exit 2).
SimError invalid_value(const std::string& value, const FlagSpec& flag, const std::string& reason);
const FlagSpec& flag_spec(const CommandSpec& spec, const std::string& long_name);

// clap's value parsers for the integer flags.
Expected<unsigned long long, SimError> parse_unsigned_flag(const std::string& value, const FlagSpec& flag,
                                                           unsigned long long max);

}  // namespace bs::sim
