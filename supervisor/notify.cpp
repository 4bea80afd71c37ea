#include "supervisor/notify.h"

#if BS_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace bs::supervisor::notify {
namespace {

#if BS_HAVE_SYSTEMD
void send(const std::string& state) { (void)sd_notify(0, state.c_str()); }
#else
void send(const std::string&) {}  // built without libsystemd (BS_SYSTEMD=OFF): nobody to tell
#endif

}  // namespace

void ready() { send("READY=1"); }

void status(const std::string& line) {
  std::string one_line = line;
  std::replace(one_line.begin(), one_line.end(), '\n', ' ');
  send("STATUS=" + one_line);
}

void watchdog() { send("WATCHDOG=1"); }

void stopping() { send("STOPPING=1"); }

void reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u +
                             static_cast<std::uint64_t>(ts.tv_nsec) / 1'000u;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
#if BS_HAVE_SYSTEMD
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
#else
  return std::nullopt;
#endif
  return std::chrono::microseconds(static_cast<std::chrono::microseconds::rep>(usec));
}

}  // namespace bs::supervisor::notify
