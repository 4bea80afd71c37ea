// `validate FILE...`: each spec file checked on its own, as the daemon would take it: the file
// name, the owner/permission trust check (CONTRACT §3), then the parser's diagnostics.
// Output on stdout: "<file>: ok", or one "<file>:<line>:<col>: <message>" per problem.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/file_text.h"
#include "reconcile/spec.h"
#include "supervisor/commands.h"

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

}  // namespace

int cmd_validate(const Settings& settings, const Invocation& inv, CommandIo& io) {
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
