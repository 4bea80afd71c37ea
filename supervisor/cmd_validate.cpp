// `validate FILE...`: each spec file checked on its own, as the daemon would take it: the file
// name, the owner/permission trust check (CONTRACT §3), then the parser's diagnostics.
// Output on stdout: "<file>: ok", or one "<file>:<line>:<col>: <message>" per problem.
// `validate` alone checks the configured spec folder as a whole, conflicts between files
// included (the daemon's own resolution); `validate --explain FILE` says what the daemon would
// make of the file.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/file_text.h"
#include "reconcile/plan.h"
#include "reconcile/spec.h"
#include "reconcile/spec_set.h"
#include "supervisor/commands.h"
#include "supervisor/spec_folder.h"

namespace bs::supervisor {
namespace {

constexpr std::size_t kMaxSpecBytes = 1 << 20;  // the daemon's limit too (spec_folder.cpp)

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string mode_text(mode_t mode) {
  return std::to_string((mode >> 6) & 7) + std::to_string((mode >> 3) & 7) + std::to_string(mode & 7);
}

// The file's text, or the one problem that stops us from parsing it.
bs::Expected<std::string, std::string> read_trusted(const std::string& path) {
  auto read = platform::read_regular_file(path, kMaxSpecBytes);
  if (!read) return bs::unexpected(read.error().message);
  if (read->uid != ::geteuid()) {
    return bs::unexpected(path + ": owned by uid " + std::to_string(read->uid) + ", not by you (uid " +
                          std::to_string(::geteuid()) + "); the supervisor ignores spec files it does not own");
  }
  if ((read->mode & (S_IWGRP | S_IWOTH)) != 0) {
    return bs::unexpected(path + ": writable by group or others (mode " + mode_text(read->mode) +
                          "); the supervisor ignores it; run: chmod go-w " + path);
  }
  return std::move(read->text);
}

// Every problem of one file, one line each; empty when it is valid.
std::vector<std::string> problems_of(const std::string& path, const Ipv4Pool& pool) {
  std::vector<std::string> lines;
  if (!is_spec_file_name(base_name(path))) {
    lines.push_back(path + ":1:1: the supervisor ignores this file: spec files are named <bottle>.toml "
                           "and do not start with '.'");
  }
  auto text = read_trusted(path);
  if (!text) {
    lines.push_back(text.error());
    return lines;
  }
  auto spec = parse_bottle_spec(path, *text, pool);
  if (!spec) {
    for (const auto& d : spec.error()) lines.push_back(d.str());
  }
  return lines;
}

std::string joined(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "(none)" : s;
}

// The whole folder, as the daemon resolves it: per file its own problems, then the conflicts.
int validate_folder(const Settings& settings, CommandIo& io) {
  SpecFolderScan scan = scan_spec_folder(settings.specs_dir);
  if (!scan.readable || !scan.trusted) {
    print_error(io.err, "spec folder " + settings.specs_dir + ": " + scan.problem,
                scan.readable ? "the daemon acts on nothing in it until this is fixed" : "");
    return kExitFailed;
  }
  std::size_t count = scan.files.size();
  std::vector<SpecEntry> entries = resolve_specs(std::move(scan.files), settings.config.pool);
  std::size_t invalid = 0;
  for (const auto& e : entries) {
    if (!e.error) {
      io.out << e.path << ": ok\n";
      continue;
    }
    ++invalid;
    std::string text = *e.error;
    // A conflict or access message is one line that may not name the file: name it.
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t nl = text.find('\n', start);
      std::string l = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      io.out << (l.rfind(e.path, 0) == 0 ? l : e.path + ": " + l) << "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  io.out.flush();
  if (count == 0) io.err << "note: no spec files in " << settings.specs_dir << "\n";
  if (invalid == 0) return kExitOk;
  print_error(io.err, std::to_string(invalid) + " of " + std::to_string(count) + " spec files in " +
                          settings.specs_dir + (invalid == 1 ? " is invalid" : " are invalid"));
  return kExitFailed;
}

// What the daemon would make of one valid file, on its own (a conflict with another file of the
// folder shows in `validate` without a FILE).
int explain(const Settings& settings, const std::string& path, CommandIo& io) {
  auto lines = problems_of(path, settings.config.pool);
  if (!lines.empty()) {
    for (const auto& line : lines) io.out << line << "\n";
    io.out.flush();
    print_error(io.err, path + " is invalid: the daemon keeps the bottle's last valid spec, if any");
    return kExitFailed;
  }
  auto text = read_trusted(path);
  auto spec = parse_bottle_spec(path, *text, settings.config.pool);
  if (!spec) return kExitFailed;  // unreachable: problems_of found none
  const BottleSpec& b = *spec;
  std::string address = b.loopback ? b.loopback->str() : "auto (the next free address of " + settings.config.pool.str() + ")";
  // With a fixed address, exactly what the daemon would write; with "auto", the lease is only
  // known once the daemon takes it.
  std::vector<std::string> allow;
  if (b.loopback) {
    allow = to_strings(desired_allowlist(b, *b.loopback));
  } else {
    allow = to_strings(b.egress_allow);
    allow.insert(allow.begin(), "<its address>/32");
  }
  const bool running = b.state == RunState::Running;
  io.out << "bottle:     " << b.name << "\n"
         << "machine:    " << b.machine << "\n"
         << "source:     " << (b.image ? "image " + *b.image : "from " + b.from.value_or("-")) << "\n"
         << "resources:  " << b.cpus << " cpu, " << b.memory_mib << " MiB\n"
         << "address:    " << address << "\n"
         << "allowlist:  " << joined(allow) << "\n"
         << "state:      " << (running ? "running" : "stopped") << "\n"
         << "on remove:  " << to_string(b.on_remove) << "\n"
         << "the supervisor would: lease " << (b.loopback ? b.loopback->str() : "an address") << ", create "
         << b.machine << " if it does not exist (else patch its allowlist), verify the allowlist in smolvm's "
         << "database, then " << (running ? "start it and check the policy it booted with" : "keep it stopped")
         << "\n";
  io.out.flush();
  return kExitOk;
}

}  // namespace

int cmd_validate(const Settings& settings, const Invocation& inv, CommandIo& io) {
  if (inv.explain) {
    if (inv.operands.size() != 1) {
      print_error(io.err, "'--explain' takes exactly one FILE", "see 'bottle-supervisor validate --help'");
      return kExitUsage;
    }
    return explain(settings, inv.operands[0], io);
  }
  if (inv.operands.empty()) return validate_folder(settings, io);
  std::size_t invalid = 0;
  for (const auto& path : inv.operands) {
    auto lines = problems_of(path, settings.config.pool);
    if (lines.empty()) {
      io.out << path << ": ok\n";
      continue;
    }
    ++invalid;
    for (const auto& line : lines) io.out << line << "\n";
  }
  io.out.flush();
  if (invalid == 0) return kExitOk;
  print_error(io.err, std::to_string(invalid) + " of " + std::to_string(inv.operands.size()) +
                          (inv.operands.size() == 1 ? " spec file is invalid" : " spec files are invalid"));
  return kExitFailed;
}

}  // namespace bs::supervisor
