// `status` and `reconcile` (without --once): both ask the running daemon over the control socket
// and print the status document it replies with.
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "store/state_store.h"
#include "supervisor/bottle_view.h"
#include "supervisor/commands.h"
#include "supervisor/control_client.h"
#include "supervisor/machine_table.h"
#include "supervisor/status_table.h"

namespace bs::supervisor {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::chrono::milliseconds kStatusTimeout{15'000};
// A full pass may run smolvm commands (each bounded by command_timeout); wait generously.
constexpr std::chrono::milliseconds kReconcileTimeout{10 * 60'000};

constexpr const char* kStartHint =
    "start it with 'systemctl --user start bottle-supervisor' or 'bottle-supervisor run'";

bool colour_wanted(const CommandIo& io) {
  if (!io.out_is_terminal) return false;
  if (io.env("NO_COLOR")) return false;
  auto term = io.env("TERM");
  return !(term && *term == "dumb");
}

// The table's width: the terminal's (TIOCGWINSZ on stdout, else $COLUMNS, else 80); not a
// terminal (a pipe, a file): nothing is cut, a script or a pager gets every character.
std::size_t table_width(const CommandIo& io) {
  if (!io.out_is_terminal) return kUnlimited;
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (auto columns = io.env("COLUMNS")) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(columns->data(), columns->data() + columns->size(), n);
    if (ec == std::errc() && end == columns->data() + columns->size() && n > 0) return n;
  }
  return 80;
}

// `status NAME` alone, as a table: the describe view, with the bottle's last ten events read
// from the state DB read-only (as `events` does); an unreadable log leaves them out.
constexpr std::size_t kDescribedEvents = 10;

std::string describe(const Settings& settings, const json& bottle, std::int64_t now_ms) {
  std::vector<store::Event> events;
  auto name = bottle.find("name");
  if (name != bottle.end() && name->is_string()) {
    if (auto db = store::StateStore::open_read_only(settings.state_dir)) {
      if (auto all = db->events(name->get<std::string>(), 0, 0, 0)) {
        events = std::move(*all);
        if (events.size() > kDescribedEvents) {
          events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(kDescribedEvents));
        }
      }
    }
  }
  return render_bottle_view(bottle, events, now_ms);
}

// True only for a JSON true; never throws on a malformed document.
bool is_true(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

// Sends one request and prints the status document of the reply. Exit codes per CONTRACT §7.
// The document without what changes every second (uptime, loop wakeups, timings): --watch
// redraws when this differs, not at every poll.
std::string watched_part(json status) {
  if (auto sup = status.find("supervisor"); sup != status.end() && sup->is_object()) {
    for (const char* key : {"uptime_s", "wakeups", "last_pass_ms", "smolvm_command_ms", "last_resync"}) sup->erase(key);
  }
  return status.dump(-1, ' ', false, json::error_handler_t::replace);
}

// seen: for --watch, the last document drawn; nothing is printed when it did not change.
int ask_and_print(const Settings& settings, const Invocation& inv, CommandIo& io, const json& request,
                  std::chrono::milliseconds timeout, std::string* seen = nullptr) {
  auto line = control_exchange(settings.socket_path, request.dump(), timeout);
  if (!line) {
    switch (line.error().kind) {
      case ClientError::Kind::NotRunning:
        print_error(io.err, line.error().message, kStartHint);
        return kExitNotRunning;
      case ClientError::Kind::Timeout:
        print_error(io.err, line.error().message, "see its log: journalctl --user -u bottle-supervisor");
        return kExitFailed;
      case ClientError::Kind::Untrusted:
        print_error(io.err, line.error().message,
                    "another user's process holds the socket path; stop it or point --socket elsewhere");
        return kExitFailed;
      default:
        print_error(io.err, line.error().message);
        return kExitFailed;
    }
  }
  // Parsed twice: ordered to print the document exactly as the daemon sent it, plain to read it.
  ordered_json ordered = ordered_json::parse(*line, nullptr, false);
  json reply = json::parse(*line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    print_error(io.err, "the reply from " + settings.socket_path + " is not a JSON object");
    return kExitFailed;
  }
  if (!is_true(reply, "ok")) {
    auto e = reply.find("error");
    print_error(io.err, e != reply.end() && e->is_string() ? e->get<std::string>()
                                                           : "the daemon refused the request");
    return kExitFailed;
  }
  auto status = reply.find("status");
  if (status == reply.end() || !status->is_object()) {
    print_error(io.err, "the reply from " + settings.socket_path + " has no status document");
    return kExitFailed;
  }

  bool draw = true;
  if (seen != nullptr) {
    std::string now = watched_part(*status);
    draw = now != *seen;
    *seen = std::move(now);
    if (draw && io.out_is_terminal) io.out << "\x1b[H\x1b[2J";  // redraw in place
  }
  if (!draw) {
  } else if (inv.json) {
    io.out << ordered["status"].dump(2, ' ', false, ordered_json::error_handler_t::replace) << "\n";
  } else if (inv.command == Command::Status && inv.operands.size() == 1 && inv.output == Invocation::Output::Table &&
             status->contains("bottles") && (*status)["bottles"].is_array() && (*status)["bottles"].size() == 1) {
    io.out << describe(settings, (*status)["bottles"][0], io.now_ms());
  } else if (inv.output == Invocation::Output::Name) {
    io.out << render_status_names(*status);
  } else {
    TableStyle style;
    style.width = inv.output == Invocation::Output::Wide ? kUnlimited : table_width(io);
    style.color = colour_wanted(io);
    style.now_ms = io.now_ms();
    io.out << render_status_table(*status, style);
    if (inv.all) io.out << render_machine_table(*status, style);
  }
  io.out.flush();
  if (!draw) return kExitOk;  // the exit code is the last drawn one's concern

  bool converged = true;
  // A spec folder that cannot be read or trusted: nothing in it is acted on.
  if (auto sup = status->find("supervisor"); sup != status->end() && sup->is_object()) {
    if (auto p = sup->find("spec_folder_problem"); p != sup->end() && p->is_string()) converged = false;
  }
  std::set<std::string> shown;
  if (auto b = status->find("bottles"); b != status->end() && b->is_array()) {
    for (const auto& bottle : *b) {
      if (!bottle.is_object()) continue;
      if (!is_true(bottle, "converged")) converged = false;
      if (auto n = bottle.find("name"); n != bottle.end() && n->is_string()) shown.insert(n->get<std::string>());
    }
  }
  std::vector<std::string> unknown;
  for (const auto& name : inv.operands) {
    if (shown.count(name) == 0) unknown.push_back(name);
  }
  if (!unknown.empty()) {
    print_error(io.err, (unknown.size() == 1 ? "no bottle named " : "no bottles named ") + quoted_list(unknown),
                "'bottle-supervisor status' lists every bottle");
    return kExitFailed;
  }
  return converged ? kExitOk : kExitFailed;
}

volatile std::sig_atomic_t g_watch_stop = 0;
void stop_watching(int) { g_watch_stop = 1; }

// `status --watch`: polls the daemon every second and redraws when the document changed, until
// SIGINT/SIGTERM (exit 0) or the daemon is gone (exit 3).
int watch_status(const Settings& settings, const Invocation& inv, CommandIo& io, const json& request) {
  g_watch_stop = 0;
  struct sigaction sa{}, old_int{}, old_term{};
  sa.sa_handler = &stop_watching;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the sleep between polls returns at once
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::string seen;
  int code = kExitOk;
  while (!g_watch_stop && code != kExitNotRunning && io.out) {
    code = ask_and_print(settings, inv, io, request, kStatusTimeout, &seen);
    timespec ts{1, 0};
    if (!g_watch_stop) nanosleep(&ts, nullptr);
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return code == kExitNotRunning ? code : kExitOk;
}

}  // namespace

void print_error(std::ostream& err, const std::string& message, const std::string& hint) {
  err << "error: " << message << "\n";
  if (!hint.empty()) err << "hint: " << hint << "\n";
  err.flush();
}

int cmd_status(const Settings& settings, const Invocation& inv, CommandIo& io) {
  json request = {{"cmd", "status"}};
  if (!inv.operands.empty()) request["bottles"] = inv.operands;
  if (inv.watch) return watch_status(settings, inv, io, request);
  return ask_and_print(settings, inv, io, request, kStatusTimeout);
}

int cmd_reconcile_remote(const Settings& settings, const Invocation& inv, CommandIo& io) {
  return ask_and_print(settings, inv, io, json{{"cmd", "reconcile"}}, kReconcileTimeout);
}

}  // namespace bs::supervisor
