#include "reconcile/config.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <tuple>
#include <vector>

#include "reconcile/duration.h"
#include "reconcile/quote.h"
#include "reconcile/toml_nesting.h"
#include "reconcile/toml_node.h"

namespace bs {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using toml_node::describe;
using toml_node::position_of;
using toml_node::single_quoted;

struct Problem {
  toml_node::Position at;
  std::string message;
};

// Reads one key's value; key is the full dotted name, for messages.
using Reader = std::function<void(const toml::node& value, const std::string& key)>;

struct Field {
  std::string_view name;
  Reader read;
};

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool home_relative(std::string_view s) { return s == "~" || s.rfind("~/", 0) == 0; }

class ConfigReader {
 public:
  Config config;

  void add(toml_node::Position at, std::string message) { problems_.push_back({at, std::move(message)}); }

  void read(const toml::table& root) {
    read_table(root, "", {
        {"specs", path_into(config.specs)},
        {"state_dir", path_into(config.state_dir)},
        {"socket", path_into(config.socket)},
        {"log_level", [this](const toml::node& v, const std::string& k) { read_log_level(v, k); }},
        {"resync_interval", duration_into(config.resync_interval, "30s", 1s, 24h)},
        {"debounce", duration_into(config.debounce, "50ms", 0ms, 10s)},
        {"removal_grace", duration_into(config.removal_grace, "2s", 0s, 1h)},
        {"on_drift_kill", [this](const toml::node& v, const std::string& k) { read_hook(v, k); }},
        {"smolvm", table_of({
            {"bin", [this](const toml::node& v, const std::string& k) { read_bin(v, k); }},
            {"data_dir", path_into(config.smolvm_data_dir)},
            {"command_timeout", duration_into(config.command_timeout, "120s", 1s, 24h)},
        })},
        {"loopback", table_of({
            {"pool", [this](const toml::node& v, const std::string& k) { read_pool(v, k); }},
            {"lock", path_into(config.lock)},
        })},
        {"backoff", table_of({
            {"initial", duration_into(config.backoff_initial, "1s", 100ms, 1h, &initial_at_)},
            {"max", duration_into(config.backoff_max, "5m", 1s, 24h, &max_at_)},
        })},
        {"guard", [this](const toml::node& v, const std::string& k) { read_guards(v, k); }},
    });
    check_backoff_order();
  }

  std::vector<Problem> take_sorted() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
    });
    return std::move(problems_);
  }

 private:
  static std::string known_names(const std::vector<Field>& fields) {
    std::string out;
    for (const Field& f : fields) out += (out.empty() ? "" : ", ") + std::string(f.name);
    return out;
  }

  void read_table(const toml::table& table, const std::string& prefix, const std::vector<Field>& fields) {
    for (auto&& [key, value] : table) {
      const std::string_view name = key.str();  // clang 14 cannot capture a structured binding
      const std::string full = prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
      auto it = std::find_if(fields.begin(), fields.end(), [name](const Field& f) { return f.name == name; });
      if (it == fields.end()) {
        add(position_of(key), "unknown key " + single_quoted(full) + " (known keys" +
                                  (prefix.empty() ? std::string() : " in [" + prefix + "]") + ": " +
                                  known_names(fields) + ")");
        continue;
      }
      it->read(value, full);
    }
  }

  Reader table_of(std::vector<Field> fields) {
    return [this, fields = std::move(fields)](const toml::node& v, const std::string& k) {
      if (const auto* t = v.as_table()) {
        read_table(*t, k, fields);
        return;
      }
      add(position_of(v), "key " + single_quoted(k) + " must be a table ([" + k + "] with " +
                              known_names(fields) + "), got " + describe(v));
    };
  }

  // The value as a string, or a wrong-type problem naming the key.
  const std::string* string_of(const toml::node& v, const std::string& key, std::string_view what) {
    if (const auto* s = v.as_string()) return &s->get();
    add(position_of(v), "key " + single_quoted(key) + " must be a string (" + std::string(what) + "), got " +
                            describe(v));
    return nullptr;
  }

  Reader path_into(std::optional<std::string>& target) {
    return [this, &target](const toml::node& v, const std::string& k) {
      const std::string* s = string_of(v, k, "an absolute path or one starting with \"~/\"");
      if (s == nullptr) return;
      if ((s->empty() || (s->front() != '/' && !home_relative(*s))) || has_control_char(*s)) {
        add(position_of(v), "key " + single_quoted(k) + ": " + bs::quoted(*s) +
                                " must be an absolute path or start with \"~/\"");
        return;
      }
      target = *s;
    };
  }

  // example: the key's default as CONTRACT.md §4 writes it.
  Reader duration_into(milliseconds& target, std::string_view example, milliseconds lo, milliseconds hi,
                       std::optional<toml_node::Position>* seen_at = nullptr) {
    return [this, &target, example, lo, hi, seen_at](const toml::node& v, const std::string& k) {
      const std::string* s = string_of(v, k, "a duration like \"" + std::string(example) + "\"");
      if (s == nullptr) return;
      auto d = parse_duration(*s, example);
      if (!d) {
        add(position_of(v), "key " + single_quoted(k) + ": " + d.error());
        return;
      }
      if (*d < lo || *d > hi) {
        add(position_of(v), "key " + single_quoted(k) + ": " + bs::quoted(*s) + " is out of range (" +
                                format_duration(lo) + ".." + format_duration(hi) + ")");
        return;
      }
      target = *d;
      if (seen_at != nullptr) *seen_at = position_of(v);
    };
  }

  void read_log_level(const toml::node& v, const std::string& k) {
    const std::string* s = string_of(v, k, "trace, debug, info, warn or error");
    if (s == nullptr) return;
    static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
    if (std::find(std::begin(kLevels), std::end(kLevels), *s) == std::end(kLevels)) {
      add(position_of(v), "key " + single_quoted(k) + ": " + bs::quoted(*s) +
                              " is not allowed (use trace, debug, info, warn or error)");
      return;
    }
    config.log_level = *s;
  }

  void read_bin(const toml::node& v, const std::string& k) {
    const std::string* s = string_of(v, k, "a command name on PATH or an absolute path");
    if (s == nullptr) return;
    const bool bare_name = !s->empty() && s->front() != '-' && s->find('/') == std::string::npos;
    const bool rooted = !s->empty() && (s->front() == '/' || s->rfind("~/", 0) == 0);
    if ((!bare_name && !rooted) || has_control_char(*s)) {
      add(position_of(v), "key " + single_quoted(k) + ": " + bs::quoted(*s) +
                              " must be a command name found on PATH (like \"smolvm\") or an absolute path");
      return;
    }
    config.smolvm_bin = *s;
  }

  // An argv list, never a shell string: what runs is exactly what is written.
  void read_hook(const toml::node& v, const std::string& k) {
    const auto* arr = v.as_array();
    if (arr == nullptr) {
      add(position_of(v), "key " + single_quoted(k) +
                              " must be an array of strings (a command and its arguments, like "
                              "[\"notify-send\", \"drift kill\"]), got " + describe(v));
      return;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& item = *arr->get(i);
      const std::string item_key = k + "[" + std::to_string(i) + "]";
      const auto* s = item.as_string();
      if (s == nullptr) {
        add(position_of(item), "key " + single_quoted(item_key) + " must be a string, got " + describe(item));
        ok = false;
        continue;
      }
      const std::string& text = s->get();
      if (text.empty() || has_control_char(text)) {
        add(position_of(item), "key " + single_quoted(item_key) + ": " + bs::quoted(text) +
                                   " must not be empty or hold control characters");
        ok = false;
        continue;
      }
      if (i == 0 && text.find('/') != std::string::npos && text.front() != '/') {
        add(position_of(item), "key " + single_quoted(item_key) + ": " + bs::quoted(text) +
                                   " must be a command name found on PATH or an absolute path");
        ok = false;
        continue;
      }
      argv.push_back(text);
    }
    if (ok) config.on_drift_kill = std::move(argv);
  }

  void read_pool(const toml::node& v, const std::string& k) {
    const std::string* s = string_of(v, k, "a network inside 127.0.0.0/8 like \"127.0.0.16/28\"");
    if (s == nullptr) return;
    auto pool = parse_pool(*s);
    if (!pool) {
      add(position_of(v), "key " + single_quoted(k) + ": " + pool.error());
      return;
    }
    config.pool = *pool;
  }

  // [[guard]]: machines (a glob), within (CIDRs), action ("kill" or "report"); all three required.
  void read_guards(const toml::node& v, const std::string& k) {
    const auto* arr = v.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      add(position_of(v), "key " + single_quoted(k) + " must be an array of tables ([[guard]] with machines, "
                              "within, action), got " + describe(v));
      return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::table& t = *(*arr)[i].as_table();
      const std::string key = k + "[" + std::to_string(i) + "]";
      GuardRule rule;
      bool machines = false, within = false, action = false, ok = true;
      const std::size_t before = problems_.size();
      read_table(t, key, {
          {"machines", [&](const toml::node& n, const std::string& full) {
             const std::string* s = string_of(n, full, "a glob on machine names like \"bot-bottle-*\"");
             if (s == nullptr) return;
             if (s->empty() || has_control_char(*s)) {
               add(position_of(n), "key " + single_quoted(full) + ": " + bs::quoted(*s) +
                                       " must be a non-empty glob on machine names (like \"bot-bottle-*\")");
               return;
             }
             rule.machines = *s;
             machines = true;
           }},
          {"within", [&](const toml::node& n, const std::string& full) {
             const auto* list = n.as_array();
             if (list == nullptr || list->empty()) {
               add(position_of(n), "key " + single_quoted(full) + " must be a non-empty array of CIDRs "
                                       "(like [\"127.0.0.16/28\"]), got " + describe(n));
               return;
             }
             for (const toml::node& e : *list) {
               const std::string* s = string_of(e, full, "a CIDR like \"127.0.0.16/28\"");
               if (s == nullptr) return;
               auto c = parse_cidr(*s);
               if (!c) {
                 add(position_of(e), "key " + single_quoted(full) + ": " + c.error());
                 return;
               }
               rule.within.push_back(*c);
             }
             within = true;
           }},
          {"action", [&](const toml::node& n, const std::string& full) {
             const std::string* s = string_of(n, full, "\"kill\" or \"report\"");
             if (s == nullptr) return;
             if (*s != "kill" && *s != "report") {
               add(position_of(n), "key " + single_quoted(full) + ": " + bs::quoted(*s) +
                                       " is not allowed (use \"kill\" or \"report\")");
               return;
             }
             rule.action = *s == "kill" ? GuardRule::Action::Kill : GuardRule::Action::Report;
             action = true;
           }},
      });
      ok = problems_.size() == before;
      for (auto [present, name] : {std::pair{machines, "machines"}, std::pair{within, "within"},
                                   std::pair{action, "action"}}) {
        if (!present && ok) {
          add(position_of(t), "[[guard]] table " + single_quoted(key) + " has no key '" + name +
                                  "' (each needs machines, within and action)");
          ok = false;
        }
      }
      if (ok) config.guards.push_back(std::move(rule));
    }
  }

  // Reported on the key the user set, or on max when both were set (max is the odd one out).
  void check_backoff_order() {
    if (config.backoff_initial <= config.backoff_max) return;
    const std::string initial = bs::quoted(format_duration(config.backoff_initial));
    const std::string max = bs::quoted(format_duration(config.backoff_max));
    if (max_at_) {
      add(*max_at_, "key 'backoff.max': " + max + " is less than backoff.initial (" + initial + ")");
    } else if (initial_at_) {
      add(*initial_at_, "key 'backoff.initial': " + initial + " is more than backoff.max (" + max +
                            ", the default)");
    }
  }

  std::vector<Problem> problems_;
  std::optional<toml_node::Position> initial_at_, max_at_;
};

}  // namespace

Expected<Config, std::string> parse_config(const std::string& path, std::string_view text) {
  ConfigReader reader;
  if (auto deep = find_excess_toml_nesting(text)) {
    reader.add({deep->line, deep->column}, deep->message);  // never handed to toml++
  } else {
    try {
      const toml::table root = toml::parse(text, std::string_view(path));
      reader.read(root);
    } catch (const toml::parse_error& e) {
      reader.add(position_of(e.source()), toml_node::syntax_error_message(e));
    } catch (const std::exception& e) {
      reader.add({}, std::string("cannot read the config: ") + e.what());
    }
  }
  const std::vector<Problem> problems = reader.take_sorted();
  if (problems.empty()) return reader.config;
  const Problem& first = problems.front();
  std::string message = path + ':' + std::to_string(first.at.line) + ':' + std::to_string(first.at.column) +
                        ": " + first.message;
  if (problems.size() > 1) {
    const std::size_t more = problems.size() - 1;
    message += " (and " + std::to_string(more) + " more problem" + (more == 1 ? "" : "s") + ")";
  }
  return unexpected(std::move(message));
}

}  // namespace bs
