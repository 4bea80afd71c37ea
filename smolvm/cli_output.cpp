// Parsers for what smolvm prints (reference §3). Errors come from main.rs as one
// "Error: <Display>" on stderr with exit 1; clap usage errors as "error: ..." with exit 2.
#include <charconv>

#include "smolvm/cli.h"

namespace bs::smolvm {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kWhitespace) - b + 1);
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.push_back(trim(text.substr(0, nl)));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string_view last_nonempty_line(std::string_view text) {
  auto ls = lines(text);
  for (auto it = ls.rbegin(); it != ls.rend(); ++it) {
    if (!it->empty()) return *it;
  }
  return {};
}

// The text after the last line-initial "Error: ", to the end (some errors span lines).
std::optional<std::string> error_text(std::string_view err) {
  constexpr std::string_view kPrefix = "Error: ";
  std::size_t at = std::string_view::npos;
  for (std::size_t pos = 0; (pos = err.find(kPrefix, pos)) != std::string_view::npos; ++pos) {
    if (pos == 0 || err[pos - 1] == '\n') at = pos;
  }
  if (at == std::string_view::npos) return std::nullopt;
  return std::string(trim(err.substr(at + kPrefix.size())));
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

CliResult failure(int exit_code, std::string_view err) {
  if (exit_code < 0) {
    std::string msg = "smolvm did not finish (killed or timed out)";
    if (auto line = last_nonempty_line(err); !line.empty()) msg += ": " + std::string(line);
    return {CliOutcome::Failed, msg, std::nullopt};
  }
  if (auto text = error_text(err)) {
    if (starts_with(*text, "vm not found: ")) return {CliOutcome::NotFound, *text, std::nullopt};
    return {CliOutcome::Failed, *text, std::nullopt};
  }
  if (exit_code == 2) {
    // clap: "error: <what>\n\nUsage: ...\n\nFor more information, try '--help'."
    for (auto line : lines(err)) {
      if (starts_with(line, "error: ")) {
        return {CliOutcome::Failed, "smolvm rejected the arguments: " + std::string(line.substr(7)), std::nullopt};
      }
    }
    return {CliOutcome::Failed, "smolvm rejected the arguments (exit status 2)", std::nullopt};
  }
  std::string msg = "smolvm exited with status " + std::to_string(exit_code);
  if (auto line = last_nonempty_line(err); !line.empty()) msg += ": " + std::string(line);
  return {CliOutcome::Failed, msg, std::nullopt};
}

std::optional<std::int64_t> parse_pid(std::string_view digits) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v <= 0) return std::nullopt;
  return v;
}

// "Machine '<n>'<middle><pid>)" -> pid; the name never holds a quote (validate_vm_name).
std::optional<std::int64_t> pid_after(std::string_view line, std::string_view middle) {
  if (!starts_with(line, "Machine '") || line.back() != ')') return std::nullopt;
  auto at = line.find(middle);
  if (at == std::string_view::npos) return std::nullopt;
  auto digits = line.substr(at + middle.size());
  digits.remove_suffix(1);
  return parse_pid(digits);
}

// The first stdout line starting with `prefix`, else the last non-empty one.
std::string informative(std::string_view out, std::string_view prefix) {
  for (auto line : lines(out)) {
    if (starts_with(line, prefix)) return std::string(line);
  }
  return std::string(last_nonempty_line(out));
}

}  // namespace

CliResult parse_create(int exit_code, std::string_view out, std::string_view err) {
  if (exit_code != 0) {
    CliResult r = failure(exit_code, err);
    if (r.outcome == CliOutcome::Failed && contains(r.message, "already exists or is being created")) {
      r.outcome = CliOutcome::AlreadyExists;
    }
    return r;
  }
  return {CliOutcome::Ok, informative(out, "Created machine: "), std::nullopt};
}

CliResult parse_start(int exit_code, std::string_view out, std::string_view err) {
  if (exit_code != 0) return failure(exit_code, err);
  std::optional<CliResult> found;
  for (auto line : lines(out)) {
    if (auto pid = pid_after(line, "' already running (PID: ")) {
      found = CliResult{CliOutcome::AlreadyRunning, std::string(line), pid};
    } else if (auto started = pid_after(line, "' running (PID: ")) {
      found = CliResult{CliOutcome::Ok, std::string(line), started};
    }
  }
  if (found) return *found;
  return {CliOutcome::Ok, std::string(last_nonempty_line(out)), std::nullopt};
}

CliResult parse_stop(int exit_code, std::string_view out, std::string_view err) {
  if (exit_code != 0) return failure(exit_code, err);
  for (auto line : lines(out)) {
    if (starts_with(line, "Machine '") && contains(line, "' is not running (state: ")) {
      return {CliOutcome::NotRunning, std::string(line), std::nullopt};
    }
  }
  return {CliOutcome::Ok, informative(out, "Stopped machine: "), std::nullopt};
}

CliResult parse_delete(int exit_code, std::string_view out, std::string_view err) {
  if (exit_code != 0) return failure(exit_code, err);
  for (auto line : lines(out)) {
    if (line == "Cancelled") {
      return {CliOutcome::Cancelled, "smolvm cancelled the delete at its confirmation prompt (nothing deleted)",
              std::nullopt};
    }
  }
  return {CliOutcome::Ok, informative(out, "Deleted machine: "), std::nullopt};
}

std::optional<std::string> parse_version(std::string_view out) {
  auto first = trim(out.substr(0, out.find('\n')));
  constexpr std::string_view kPrefix = "smolvm ";
  if (!starts_with(first, kPrefix)) return std::nullopt;
  auto version = trim(first.substr(kPrefix.size()));
  version = version.substr(0, version.find_first_of(kWhitespace));
  if (version.empty() || version[0] < '0' || version[0] > '9') return std::nullopt;
  return std::string(version);
}

bool version_at_least(std::string_view version, int major, int minor, int patch) {
  int parts[3] = {0, 0, 0};
  const char* p = version.data();
  const char* end = version.data() + version.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return false;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return false;
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc()) return false;
    p = next;
  }
  // Semver: "-<pre>" sorts below the release, "+<build>" does not count; anything else is garbage.
  bool prerelease = p != end && *p == '-';
  if (p != end && *p != '-' && *p != '+') return false;
  int want[3] = {major, minor, patch};
  for (int i = 0; i < 3; ++i) {
    if (parts[i] != want[i]) return parts[i] > want[i];
  }
  return !prerelease;
}

}  // namespace bs::smolvm
