// The integration harness: the real bottle-supervisor against smolvm-sim in a temporary HOME.
// process.h (running and reaping), temp_home.h (the HOME, its files, its smolvm DB as another
// writer sees it, and the CLI), daemon.h (`bottle-supervisor run`); the machinery under them is
// tests/support's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon.h"
#include "process.h"
#include "temp_home.h"

namespace bs::integ {

using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since);

// Prints "metric: <name>=<ms>" on stdout and as a Catch2 warning: measured, never asserted.
void print_metric(const std::string& name, long long ms);

bool contains(const std::string& haystack, const std::string& needle);

// Events whose detail mentions `text` (e.g. "pid 1234").
std::vector<Json> mentioning(const std::vector<Json>& events, const std::string& text);

// "pid N" exactly, not a prefix of a longer number.
bool mentions_pid(const std::string& detail, std::int64_t pid);

// The drift-killed events among `kills` that name `rogue`. Any other must be the race of an
// out-of-band `machine stop` with the supervisor's at-once restart: the stop removes agent.pid
// and agent.config.json after its VM is gone, when they may already be the new VM's, which is
// then unverifiable, killed (fail closed) and started again (real smolvm's stop does the same).
std::vector<Json> kills_of_rogue(const std::vector<Json>& kills, std::int64_t rogue);

// Waits for a drift-killed event of `bottle` that names `rogue`, then returns kills_of_rogue of
// all its drift-killed events. (Waiting for any drift-killed event is not enough: the race above
// may record its kill first.)
std::vector<Json> wait_kills_of_rogue(TempHome& h, const std::string& bottle, std::int64_t rogue);

// The one allowlist most tests expect: the first lease of the default pool.
inline const Json kFirstAllowlist = Json::array({"127.0.0.16/32"});

}  // namespace bs::integ
