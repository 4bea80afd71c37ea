// TOML text -> validated BottleSpec, collecting every problem with its position.
#include "reconcile/spec.h"

#include <algorithm>
#include <exception>
#include <functional>
#include <map>
#include <tuple>

#include "reconcile/quote.h"
#include "reconcile/toml_nesting.h"
#include "reconcile/toml_node.h"

namespace bs {
namespace {

using toml_node::describe;
using toml_node::position_of;
using toml_node::single_quoted;

constexpr std::string_view kNamePattern = "^[a-z0-9]+(-[a-z0-9]+)*$";
constexpr std::string_view kKnownKeys = "image, from, machine, cpus, memory, state, loopback, on_remove, egress";

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// What smolvm and OCI registries accept in a reference, and nothing that could read as a flag.
bool image_reference_chars(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (s.empty() || !alnum(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@';
  });
}

class SpecReader {
 public:
  SpecReader(const std::string& path, const Ipv4Pool& pool) : path_(path), pool_(pool) {}

  void add(toml_node::Position at, std::string message) {
    diags_.push_back({path_, at.line, at.column, std::move(message)});
  }
  void add_whole_file(std::string message) { add({1, 1}, std::move(message)); }

  void read(const toml::table& root, BottleSpec& spec) {
    using Reader = void (SpecReader::*)(const toml::node&, BottleSpec&);
    static const std::map<std::string_view, Reader> readers = {
        {"image", &SpecReader::read_image},       {"from", &SpecReader::read_from},
        {"machine", &SpecReader::read_machine},   {"cpus", &SpecReader::read_cpus},
        {"memory", &SpecReader::read_memory},     {"state", &SpecReader::read_state},
        {"loopback", &SpecReader::read_loopback}, {"on_remove", &SpecReader::read_on_remove},
        {"egress", &SpecReader::read_egress},
    };
    for (auto&& [key, node] : root) {
      auto it = readers.find(key.str());
      if (it == readers.end()) {
        add(position_of(key), "unknown key " + single_quoted(key.str()) + " (known keys: " +
                                  std::string(kKnownKeys) + ")");
        continue;
      }
      (this->*(it->second))(node, spec);
    }
    const toml::key* image_key = find_key(root, "image");
    const toml::key* from_key = find_key(root, "from");
    if (image_key != nullptr && from_key != nullptr) {
      const toml::key* later = image_key->source().begin < from_key->source().begin ? from_key : image_key;
      add(position_of(*later), "both 'image' and 'from' are set; set exactly one");
    } else if (image_key == nullptr && from_key == nullptr) {
      add_whole_file("neither 'image' nor 'from' is set; set exactly one (e.g. image = \"alpine:3.20\")");
    }
  }

  std::vector<SpecDiag> take_sorted() {
    std::stable_sort(diags_.begin(), diags_.end(), [](const SpecDiag& a, const SpecDiag& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return std::move(diags_);
  }

 private:
  static const toml::key* find_key(const toml::table& t, std::string_view name) {
    auto it = t.find(name);
    return it == t.end() ? nullptr : &it->first;
  }

  // The string value of node, or a diagnostic "'key' must be a string (what), got ...".
  const std::string* string_of(const toml::node& node, std::string_view key, std::string_view what) {
    if (const auto* s = node.as_string()) return &s->get();
    add(position_of(node), "'" + std::string(key) + "' must be a string (" + std::string(what) + "), got " +
                               describe(node));
    return nullptr;
  }

  std::optional<std::int64_t> integer_of(const toml::node& node, std::string_view key, std::string_view what) {
    if (const auto* i = node.as_integer()) return i->get();
    add(position_of(node), "'" + std::string(key) + "' must be an integer " + std::string(what) + ", got " +
                               describe(node));
    return std::nullopt;
  }

  void read_image(const toml::node& node, BottleSpec& spec) {
    const std::string* s = string_of(node, "image", "an image reference like \"alpine:3.20\"");
    if (s == nullptr) return;
    if (!image_reference_chars(*s)) {
      add(position_of(node), "image = " + bs::quoted(*s) +
                                 " is not an image reference: use letters, digits and . _ - / : @, starting "
                                 "with a letter or digit (e.g. \"alpine:3.20\")");
      return;
    }
    spec.image = *s;
  }

  void read_from(const toml::node& node, BottleSpec& spec) {
    const std::string* s = string_of(node, "from", "an absolute path to a .smolmachine file");
    if (s == nullptr) return;
    if (s->empty() || s->front() != '/') {
      add(position_of(node), "'from' must be an absolute path, got " + bs::quoted(*s));
      return;
    }
    if (has_control_char(*s)) {
      add(position_of(node), "'from' must not contain control characters, got " + bs::quoted(*s));
      return;
    }
    spec.from = *s;
  }

  void read_machine(const toml::node& node, BottleSpec& spec) {
    const std::string* s = string_of(node, "machine", "a smolvm machine name");
    if (s == nullptr) return;
    if (!valid_machine_name(*s)) {
      add(position_of(node), "machine " + single_quoted(*s) + " must match " + std::string(kNamePattern) +
                                 " and be at most " + std::to_string(kMaxMachineNameLength) + " characters");
      return;
    }
    spec.machine = *s;
  }

  // Reads an integer key within [lo, hi]; unit is appended to the range in messages.
  std::optional<int> bounded(const toml::node& node, std::string_view key, int lo, int hi, std::string_view unit) {
    const std::string range = "(" + std::to_string(lo) + ".." + std::to_string(hi) + std::string(unit) + ")";
    auto v = integer_of(node, key, range);
    if (!v) return std::nullopt;
    if (*v < lo || *v > hi) {
      add(position_of(node), std::string(key) + " = " + std::to_string(*v) + " is out of range " + range);
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  void read_cpus(const toml::node& node, BottleSpec& spec) {
    if (auto v = bounded(node, "cpus", kMinCpus, kMaxCpus, "")) spec.cpus = *v;
  }

  void read_memory(const toml::node& node, BottleSpec& spec) {
    if (auto v = bounded(node, "memory", kMinMemoryMib, kMaxMemoryMib, " MiB")) spec.memory_mib = *v;
  }

  // A string key with two allowed words; returns true for the first, false for the second.
  std::optional<bool> choice(const toml::node& node, std::string_view key, std::string_view first,
                             std::string_view second) {
    const std::string allowed = "\"" + std::string(first) + "\" or \"" + std::string(second) + "\"";
    const std::string* s = string_of(node, key, allowed);
    if (s == nullptr) return std::nullopt;
    if (*s == first) return true;
    if (*s == second) return false;
    add(position_of(node), std::string(key) + " = " + bs::quoted(*s) + " is not allowed (use " + allowed + ")");
    return std::nullopt;
  }

  void read_state(const toml::node& node, BottleSpec& spec) {
    if (auto running = choice(node, "state", "running", "stopped")) {
      spec.state = *running ? RunState::Running : RunState::Stopped;
    }
  }

  void read_on_remove(const toml::node& node, BottleSpec& spec) {
    if (auto del = choice(node, "on_remove", "delete", "keep")) spec.on_remove = *del ? OnRemove::Delete : OnRemove::Keep;
  }

  void read_loopback(const toml::node& node, BottleSpec& spec) {
    const std::string allowed = "\"auto\" or an IPv4 address in the pool " + pool_.str();
    const std::string* s = string_of(node, "loopback", allowed);
    if (s == nullptr || *s == "auto") return;
    auto a = parse_ipv4(*s);
    if (!a) {
      add(position_of(node), "loopback must be " + allowed + ": " + a.error());
      return;
    }
    // The host's own addresses come first: they are refused whatever the pool.
    for (std::uint32_t reserved : {0x7f000000u, 0x7f000001u, 0x7fffffffu}) {
      if (a->value == reserved) {
        add(position_of(node), "loopback may not be " + a->str());
        return;
      }
    }
    if (!pool_.contains(*a)) {
      add(position_of(node), "loopback " + a->str() + " is outside the pool " + pool_.str());
      return;
    }
    spec.loopback = *a;
  }

  void read_egress(const toml::node& node, BottleSpec& spec) {
    const auto* table = node.as_table();
    if (table == nullptr) {
      add(position_of(node), "'egress' must be a table ([egress] with allow = [...]), got " + describe(node));
      return;
    }
    for (auto&& [key, value] : *table) {
      if (key.str() != "allow") {
        add(position_of(key), "unknown key " + single_quoted("egress." + std::string(key.str())) +
                                  " (known keys in [egress]: allow)");
        continue;
      }
      read_allow(value, spec);
    }
  }

  void read_allow(const toml::node& node, BottleSpec& spec) {
    const auto* array = node.as_array();
    if (array == nullptr) {
      add(position_of(node), "'egress.allow' must be an array of CIDR strings (e.g. [\"10.0.0.0/8\"]), got " +
                                 describe(node));
      return;
    }
    std::vector<Cidr> cidrs;
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      const std::string where = "egress.allow[" + std::to_string(i) + "]";
      const auto* s = item.as_string();
      if (s == nullptr) {
        add(position_of(item), where + " must be a string (a CIDR like \"10.0.0.0/8\"), got " + describe(item));
        ok = false;
        continue;
      }
      auto c = parse_cidr(s->get());
      if (!c) {
        add(position_of(item), where + " = " + c.error());
        ok = false;
        continue;
      }
      cidrs.push_back(*c);
    }
    if (ok) spec.egress_allow = make_allowlist(std::move(cidrs));
  }

  std::string path_;
  const Ipv4Pool& pool_;
  std::vector<SpecDiag> diags_;
};

}  // namespace

Expected<BottleSpec, std::vector<SpecDiag>> parse_bottle_spec(const std::string& path, std::string_view text,
                                                              const Ipv4Pool& pool) {
  SpecReader reader(path, pool);
  BottleSpec spec;
  spec.name = bottle_name_of(path);
  spec.path = path;
  spec.machine = "bottle-" + spec.name;
  if (!valid_bottle_name(spec.name)) {
    reader.add_whole_file("bottle name " + single_quoted(spec.name) + " (from the file name) must match " +
                          std::string(kNamePattern) + " and be at most " + std::to_string(kMaxBottleNameLength) +
                          " characters");
  }
  if (auto deep = find_excess_toml_nesting(text)) {
    reader.add({deep->line, deep->column}, deep->message);
    return unexpected(reader.take_sorted());
  }
  try {
    const toml::table root = toml::parse(text, std::string_view(path));
    reader.read(root, spec);
  } catch (const toml::parse_error& e) {
    reader.add(position_of(e.source()), toml_node::syntax_error_message(e));
  } catch (const std::exception& e) {
    reader.add_whole_file(std::string("cannot read the spec: ") + e.what());
  }
  std::vector<SpecDiag> diags = reader.take_sorted();
  if (!diags.empty()) return unexpected(std::move(diags));
  return spec;
}

}  // namespace bs
