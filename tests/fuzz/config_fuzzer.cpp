// bs::parse_config on arbitrary bytes: never throws or crashes, every accepted value is inside the
// ranges the daemon relies on (no zero resync or backoff), and a refusal is one line naming the file.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "reconcile/config.h"

namespace {

using std::chrono::milliseconds;
const std::string kPath = "/fuzz/config.toml";

bool between(milliseconds v, milliseconds lo, milliseconds hi) { return v >= lo && v <= hi; }

void check_accepted(const bs::Config& c) {
  using namespace std::chrono_literals;
  FUZZ_CHECK(between(c.resync_interval, 1s, 24h), "resync_interval in range");
  FUZZ_CHECK(between(c.debounce, 0ms, 10s), "debounce in range");
  FUZZ_CHECK(between(c.removal_grace, 0s, 1h), "removal_grace in range");
  FUZZ_CHECK(between(c.command_timeout, 1s, 24h), "command_timeout in range");
  FUZZ_CHECK(between(c.backoff_initial, 100ms, 1h), "backoff.initial in range");
  FUZZ_CHECK(between(c.backoff_max, 1s, 24h), "backoff.max in range");
  FUZZ_CHECK(c.backoff_initial <= c.backoff_max, "backoff.initial <= backoff.max");
  FUZZ_CHECK(c.log_level == "trace" || c.log_level == "debug" || c.log_level == "info" || c.log_level == "warn" ||
                 c.log_level == "error",
             "log_level is a known level");
  FUZZ_CHECK(c.pool.leasable_count() > 0, "the pool has a leasable address");
  FUZZ_CHECK((c.pool.network.value >> 24) == 127, "the pool is loopback");
  FUZZ_CHECK(!c.smolvm_bin.empty(), "smolvm.bin is not empty");
  for (const auto* p : {&c.specs, &c.state_dir, &c.socket, &c.smolvm_data_dir, &c.lock}) {
    if (*p) FUZZ_CHECK(!(*p)->empty() && ((*p)->front() == '/' || (*p)->front() == '~'), "paths are absolute or ~");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = bs::parse_config(kPath, text);
  if (config) {
    check_accepted(*config);
  } else {
    const std::string& e = config.error();
    FUZZ_CHECK(e.rfind(kPath + ":", 0) == 0, "the error names the file");
    FUZZ_CHECK(e.find('\n') == std::string::npos && e.find('\r') == std::string::npos, "the error is one line");
  }
  return 0;
}
