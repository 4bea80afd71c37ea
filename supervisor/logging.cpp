#include "supervisor/logging.h"

#include <cstdio>
#include <memory>
#include <string_view>

#include <spdlog/details/null_mutex.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace bs::supervisor {
namespace {

spdlog::level::level_enum level_of(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
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

// journald reads the priority per line, so every line of a multi-line message gets the prefix
// (an unprefixed continuation line would be filed as info).
class JournalStreamSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  JournalStreamSink() { set_pattern_("%v"); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string_view text(formatted.data(), formatted.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::string out;
    const std::string prefix = "<" + std::to_string(syslog_priority(msg.level)) + ">";
    std::size_t start = 0;
    while (true) {
      std::size_t nl = text.find('\n', start);
      out += prefix;
      out.append(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
      out += '\n';
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void init_logging(const std::string& level, const platform::EnvLookup& env) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (auto stream = env("JOURNAL_STREAM"); stream && !stream->empty()) {
    sink = std::make_shared<JournalStreamSink>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc));
  }
  auto logger = std::make_shared<spdlog::logger>("bottle-supervisor", std::move(sink));
  logger->set_level(level_of(level));
  // Errors are rare and matter: make sure they reach the journal even if we crash next.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void set_log_level(const std::string& level) { spdlog::default_logger_raw()->set_level(level_of(level)); }

}  // namespace bs::supervisor
