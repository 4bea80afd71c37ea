// systemd's notification protocol (sd_notify(3)) for a Type=notify user service. Every call is a
// no-op when NOTIFY_SOCKET is unset (run by hand), and a failed send is ignored: systemd being
// unreachable must never stop the daemon.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace bs::supervisor::notify {

void ready();                          // READY=1
void status(const std::string& line);  // STATUS=<line> (newlines become spaces)
void watchdog();                       // WATCHDOG=1
void stopping();                       // STOPPING=1
void reloading();                      // RELOADING=1 + MONOTONIC_USEC=<now>; send ready() when done

// WatchdogSec= of the unit, when the watchdog is on for this process; ping at half of it.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace bs::supervisor::notify
