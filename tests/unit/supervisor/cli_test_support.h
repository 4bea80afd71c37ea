// Shared scaffolding for the CLI and control-plane tests: temp folders (tests/support's), a libuv
// loop stepped on the test thread (the daemon is single-threaded, so no loop ever runs on a
// helper thread), and a capture of what the default spdlog logger writes.
#pragma once

#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "support/files.h"
#include "support/temp_dir.h"

namespace bs::cli_test {

using bs::test::TempDir;

// support's write_file, making the missing folders first: the CLI tests write config files deep
// under a fresh HOME.
inline void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  bs::test::write_file(path, text, mode);
}

// A loop driven by the test: run_until steps it until a condition holds or a deadline passes.
class TestLoop {
 public:
  TestLoop() { uv_loop_init(&loop_); }
  ~TestLoop() {
    drain();
    CHECK(uv_loop_close(&loop_) == 0);  // every handle was closed and freed
  }
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
  uv_loop_t* get() { return &loop_; }

  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      uv_run(&loop_, UV_RUN_NOWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // pacing, not synchronisation
    }
    return true;
  }

  // Runs until nothing is left on the loop (close callbacks included).
  void drain() {
    run_until([&] { return uv_loop_alive(&loop_) == 0; }, std::chrono::seconds(10));
    uv_run(&loop_, UV_RUN_NOWAIT);
  }

 private:
  uv_loop_t loop_{};
};

// Routes the default logger into a string for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

}  // namespace bs::cli_test
