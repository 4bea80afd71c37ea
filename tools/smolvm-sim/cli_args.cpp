#include "tools/smolvm-sim/cli_args.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace bs::sim {
namespace {

std::string display(const FlagSpec& f) {
  std::string s = "--" + f.long_name;
  if (!f.value_name.empty()) s += " <" + f.value_name + ">";
  return s;
}

SimError usage_failure(const std::string& msg, const CommandSpec& spec, const std::string& tip = "") {
  std::string text = msg + "\n\n";
  if (!tip.empty()) text += "  tip: " + tip + "\n\n";
  text += "Usage: " + spec.usage + "\n\nFor more information, try '--help'.";
  return usage_error(text);
}

const FlagSpec* by_long(const CommandSpec& spec, const std::string& name) {
  for (const auto& f : spec.flags) {
    if (f.long_name == name) return &f;
  }
  return nullptr;
}

const FlagSpec* by_short(const CommandSpec& spec, char c) {
  for (const auto& f : spec.flags) {
    if (f.short_name == c) return &f;
  }
  return nullptr;
}

bool looks_like_flag(const std::string& s) { return s.size() > 1 && s[0] == '-'; }

}  // namespace

std::optional<std::string> ParsedArgs::one(const std::string& flag) const {
  auto it = values.find(flag);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::all(const std::string& flag) const {
  auto it = values.find(flag);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

const FlagSpec& flag_spec(const CommandSpec& spec, const std::string& long_name) {
  const FlagSpec* f = by_long(spec, long_name);
  if (f == nullptr) {  // a typo in a command table, not a user error
    std::fprintf(stderr, "smolvm-sim: internal error: no flag --%s\n", long_name.c_str());
    std::abort();
  }
  return *f;
}

SimError invalid_value(const std::string& value, const FlagSpec& flag, const std::string& reason) {
  return usage_error("invalid value '" + value + "' for '" + display(flag) + "': " + reason +
                     "\n\nFor more information, try '--help'.");
}

Expected<unsigned long long, SimError> parse_unsigned_flag(const std::string& value, const FlagSpec& flag,
                                                           unsigned long long max) {
  bool digits = !value.empty();
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  if (!digits) return unexpected(invalid_value(value, flag, "invalid digit found in string"));
  unsigned long long n = 0;
  try {
    n = std::stoull(value);
  } catch (const std::exception&) {
    return unexpected(invalid_value(value, flag, "number too large to fit in target type"));
  }
  if (n > max) {
    return unexpected(invalid_value(value, flag, value + " is not in 0..=" + std::to_string(max)));
  }
  return n;
}

Expected<ParsedArgs, SimError> parse_args(const std::vector<std::string>& args, const CommandSpec& spec) {
  ParsedArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      if (!spec.trailing_allowed) {
        if (i + 1 < args.size()) {
          return unexpected(usage_failure("unexpected argument '" + args[i + 1] + "' found", spec));
        }
        continue;
      }
      out.trailing.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    const FlagSpec* f = nullptr;
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      f = by_long(spec, name);
    } else if (a.size() >= 2 && a[0] == '-') {
      f = by_short(spec, a[1]);
      if (f != nullptr && a.size() > 2) {
        if (f->value_name.empty()) f = nullptr;  // bundled switches: not used by these commands
        else inline_value = a.substr(a[2] == '=' ? 3 : 2);
      }
    } else {
      return unexpected(usage_failure("unexpected argument '" + a + "' found", spec));
    }
    if (f == nullptr) {
      std::string tip;
      if (a.rfind("--", 0) == 0) tip = "to pass '" + a + "' as a value, use '-- " + a + "'";
      return unexpected(usage_failure("unexpected argument '" + a + "' found", spec, tip));
    }
    std::string value;
    if (!f->value_name.empty()) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size() && !looks_like_flag(args[i + 1]) && args[i + 1] != "--") {
        value = args[++i];
      } else {
        return unexpected(usage_error("a value is required for '" + display(*f) +
                                      "' but none was supplied\n\nFor more information, try '--help'."));
      }
    } else if (inline_value) {
      return unexpected(usage_failure("unexpected value '" + *inline_value + "' for '" + display(*f) + "' found; no more were expected", spec));
    }
    auto& slot = out.values[f->long_name];
    if (!slot.empty() && !f->repeatable) {
      return unexpected(usage_failure("the argument '" + display(*f) + "' cannot be used multiple times", spec));
    }
    slot.push_back(value);
  }
  if (!out.help) {
    std::string missing;
    for (const auto& r : spec.required) {
      if (!out.has(r)) missing += "\n  " + display(flag_spec(spec, r));
    }
    if (!missing.empty()) {
      return unexpected(usage_failure("the following required arguments were not provided:" + missing, spec));
    }
  }
  return out;
}

}  // namespace bs::sim
