#include "supervisor/logging.h"

#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#if BS_HAVE_SYSTEMD
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#endif

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace bs::supervisor {
namespace {

bool g_journal = false;  // stderr is journald's stream (JOURNAL_STREAM): set by init_logging

spdlog::level::level_enum level_of(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return spdlog::level::info;
}

#if BS_HAVE_SYSTEMD
bool send_to_journal(const std::vector<std::string>& fields) {
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}
#endif

spdlog::level::level_enum level_of_priority(int priority) {
  if (priority <= kPriorityErr) return spdlog::level::err;
  if (priority == kPriorityWarning) return spdlog::level::warn;
  return spdlog::level::info;
}

// sd-daemon(3) priorities: SD_ERR <3>, SD_WARNING <4>, SD_INFO <6>, SD_DEBUG <7>.
int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical: return 2;
    case spdlog::level::err: return 3;
    case spdlog::level::warn: return 4;
    case spdlog::level::info: return 6;
    default: return 7;
  }
}

// The one sink: every message's text has its control characters escaped before it is formatted,
// so a file name, spec value or smolvm output holding ESC, BEL or a newline can neither drive the
// terminal nor forge a log line. Under systemd each line starts with its priority "<N>".
class StderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit StderrSink(bool journal) : journal_(journal) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string escaped = escape_control_characters(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg safe = msg;
    safe.payload = escaped;
    spdlog::memory_buf_t formatted;
    formatter_->format(safe, formatted);
    std::string out;
    if (journal_) out = "<" + std::to_string(syslog_priority(msg.level)) + ">";
    out.append(formatted.data(), formatted.size());
    std::fwrite(out.data(), 1, out.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool journal_;
};

}  // namespace

std::string escape_control_characters(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  return out;
}

void init_logging(const std::string& level, const platform::EnvLookup& env) {
  const auto stream = env("JOURNAL_STREAM");
  const bool journal = stream && !stream->empty();
  g_journal = journal;
  auto sink = std::make_shared<StderrSink>(journal);
  // journald adds the time itself.
  sink->set_formatter(journal ? std::make_unique<spdlog::pattern_formatter>("%v")
                              : std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                            spdlog::pattern_time_type::utc));
  auto logger = std::make_shared<spdlog::logger>("bottle-supervisor", std::move(sink));
  logger->set_level(level_of(level));
  // Errors are rare and matter: make sure they reach the journal even if we crash next.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void log_event(const JournalEvent& event) {
  const int priority = event_priority(event.kind);
#if BS_HAVE_SYSTEMD
  if (g_journal) {
    // Escaped like every other line: a file name or smolvm output cannot forge entries here either.
    const JournalEvent safe{escape_control_characters(event.bottle), escape_control_characters(event.machine),
                            escape_control_characters(event.kind), escape_control_characters(event.detail)};
    const auto level = level_of_priority(priority);
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    if (send_to_journal(journal_fields(safe))) return;
  }
#endif
  if (priority <= kPriorityErr) return;  // the failing step logged the error already
  spdlog::log(level_of_priority(priority), "{}", event_message(event));
}

void set_log_level(const std::string& level) { spdlog::default_logger_raw()->set_level(level_of(level)); }

}  // namespace bs::supervisor
