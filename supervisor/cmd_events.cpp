// `events`: the audit log, read straight from the state DB (WAL lets us read while the daemon
// writes), oldest first; --follow keeps polling for new ids until interrupted.
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <thread>

#include <nlohmann/json.hpp>

#include "store/state_store.h"
#include "supervisor/commands.h"
#include "supervisor/state_reader.h"
#include "supervisor/event_filter.h"
#include "supervisor/status_table.h"

namespace bs::supervisor {
namespace {

constexpr std::chrono::milliseconds kPollInterval{200};

volatile std::sig_atomic_t g_stop = 0;

void request_stop(int) { g_stop = 1; }

// SIGINT/SIGTERM end --follow cleanly (exit 0); SIGPIPE is ignored so a closed pipe shows up as a
// failed write instead of killing us. Restores the previous dispositions on destruction.
class FollowSignals {
 public:
  FollowSignals() {
    g_stop = 0;
    struct sigaction sa{};
    sa.sa_handler = &request_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the sleep between polls returns at once
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    struct sigaction ignore{};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &old_pipe_);
  }
  ~FollowSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
  }
  FollowSignals(const FollowSignals&) = delete;
  FollowSignals& operator=(const FollowSignals&) = delete;

 private:
  struct sigaction old_int_{}, old_term_{}, old_pipe_{};
};

void sleep_a_poll() {
  timespec ts{0, static_cast<long>(kPollInterval.count()) * 1'000'000L};
  nanosleep(&ts, nullptr);  // EINTR on a signal is the point
}

bool exists(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0;
}


// Human columns: widths fixed by the first batch so --follow stays aligned; a longer name later
// widens its row rather than being cut (an audit log never hides a fact), and DETAIL runs on.
class EventTable {
 public:
  void print(std::ostream& out, const std::vector<store::Event>& events) {
    if (events.empty()) return;
    if (!header_done_) {
      for (const auto& e : events) {
        w_[1] = std::clamp(std::max(w_[1], display_width(terminal_safe(e.bottle))), w_[1], std::size_t{20});
        w_[2] = std::clamp(std::max(w_[2], display_width(terminal_safe(e.machine))), w_[2], std::size_t{26});
      }
      row(out, {"TIME", "BOTTLE", "MACHINE", "KIND", "DETAIL"});
      header_done_ = true;
    }
    for (const auto& e : events) {
      row(out, {store::format_rfc3339(e.ts_ms), terminal_safe(e.bottle), terminal_safe(e.machine),
                terminal_safe(e.kind), terminal_safe(e.detail)});
    }
  }

 private:
  void row(std::ostream& out, const std::array<std::string, 5>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line += cells[c];
      if (c + 1 == cells.size()) break;
      std::size_t w = display_width(cells[c]);
      line += std::string(w < w_[c] ? w_[c] - w : 0, ' ') + "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }

  std::array<std::size_t, 5> w_ = {20, 6, 7, 14, 6};
  bool header_done_ = false;
};


// Reads a batch, waiting out the daemon's write lock for a while instead of failing at once.
bs::Expected<std::vector<store::Event>, store::StoreError> read_batch(store::StateStore& db,
                                                                      const std::string& bottle,
                                                                      std::int64_t since_ms,
                                                                      std::int64_t after_id) {
  auto give_up = std::chrono::steady_clock::now() + kStateBusyPatience;
  while (true) {
    // Unlimited is bounded: the daemon trims the log to its last kEventsKept events.
    auto batch = db.events(bottle, since_ms, after_id, 0);
    if (batch || batch.error().kind != store::StoreError::Kind::Busy ||
        std::chrono::steady_clock::now() >= give_up || g_stop) {
      return batch;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int cmd_events(const Settings& settings, const Invocation& inv, CommandIo& io) {
  g_stop = 0;  // a stop asked of an earlier --follow in this process is not one of this call
  std::optional<FollowSignals> signals;
  if (inv.follow) signals.emplace();
  const std::string db_path = settings.state_dir + "/state.db";
  // --follow may start before the daemon's first run has created the DB (in an existing state
  // dir); anything else missing is an error naming it, not an empty log: a mistyped --state-dir
  // must not look like "nothing happened". Creating it is the daemon's job, never ours.
  while (inv.follow && !g_stop && exists(settings.state_dir) && !exists(db_path)) sleep_a_poll();
  if (g_stop) return kExitOk;
  auto db = open_state_read_only(settings.state_dir);
  if (!db) {
    print_error(io.err, "cannot read the audit log: " + db.error().message,
                db.error().kind == store::StoreError::Kind::Missing
                    ? "is --state-dir (or the config's state_dir) the daemon's? (state dir: " + settings.state_dir + ")"
                    : std::string());
    return kExitFailed;
  }
  const std::int64_t now = io.now_ms();
  EventFilter filter;
  filter.bottle = inv.bottle.value_or("");
  filter.kinds = inv.kinds;
  filter.since_ms = inv.since_at_ms ? *inv.since_at_ms : inv.since ? now - inv.since->count() : 0;
  if (inv.until_at_ms) filter.until_ms = *inv.until_at_ms;
  else if (inv.until) filter.until_ms = now - inv.until->count();

  // A mistyped --bottle must not look like a quiet bottle: without --follow (which may wait for
  // a bottle still to come), a name with no event ever and no spec in the folder is an error.
  if (!filter.bottle.empty() && !inv.follow) {
    auto any = read_batch(*db, filter.bottle, 0, 0);
    bool known = any && !any->empty();
    if (!known) known = exists(settings.specs_dir + "/" + filter.bottle + ".toml");
    if (!known) {
      if (auto saved = db->saved_specs()) {
        for (const auto& sp : *saved) known = known || sp.bottle == filter.bottle;
      }
    }
    if (!known) {
      print_error(io.err, "no bottle named '" + filter.bottle + "' (no event for it, no spec in " + settings.specs_dir + ")",
                  "'bottle-supervisor status -o name' lists every bottle");
      return kExitFailed;
    }
  }

  // --follow starts at the end: past everything that exists now, matching or not, unless -n N
  // asks for the last N matching events first.
  std::int64_t after_id = 0;
  if (inv.follow && !inv.tail) {
    if (auto last = db->last_event_id()) after_id = *last;
  }
  EventTable table;
  bool first = true;
  while (true) {
    auto read = read_batch(*db, filter.bottle, filter.since_ms, after_id);
    if (!read) {
      if (!first && read.error().kind == store::StoreError::Kind::Busy) {
        sleep_a_poll();  // keep following; the daemon will let go
        continue;
      }
      print_error(io.err, "cannot read the audit log in " + db_path + ": " + read.error().message);
      return kExitFailed;
    }
    for (const auto& e : *read) after_id = std::max(after_id, e.id);
    std::vector<store::Event> batch = select_events(*read, filter, first ? inv.tail : std::nullopt);
    first = false;
    if (inv.json) {
      for (const auto& e : batch) io.out << event_json_line(e);
    } else {
      table.print(io.out, batch);
    }
    io.out.flush();
    if (!io.out) return kExitOk;  // the reader went away (EPIPE): nothing more to say
    if (!inv.follow || g_stop) return kExitOk;
    sleep_a_poll();
    if (g_stop) return kExitOk;
  }
}

}  // namespace bs::supervisor
