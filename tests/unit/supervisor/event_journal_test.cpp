// The journal side of audit events: priorities, MESSAGE_IDs and the structured field set.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include "supervisor/event_journal.h"

using bs::supervisor::event_message_id;
using bs::supervisor::event_priority;
using bs::supervisor::journal_fields;

namespace {
const char* const kKinds[] = {"lease-acquired", "lease-released", "created", "adopted", "patched",
                              "verified", "started", "stopped", "deleted", "quarantined",
                              "drift-killed", "stray-killed", "exited", "error", "released",
                              "lease-conflict", "guard-killed", "guard-violation"};
}

TEST_CASE("event journal: kills and quarantines are warnings, errors err, the rest info", "[supervisor]") {
  CHECK(event_priority("drift-killed") == 4);
  CHECK(event_priority("stray-killed") == 4);
  CHECK(event_priority("quarantined") == 4);
  CHECK(event_priority("guard-killed") == 4);
  CHECK(event_priority("guard-violation") == 4);
  CHECK(event_priority("lease-conflict") == 4);
  CHECK(event_priority("error") == 3);
  for (const char* k : {"lease-acquired", "created", "verified", "started", "stopped", "exited"}) {
    INFO(k);
    CHECK(event_priority(k) == 6);
  }
}

TEST_CASE("event journal: every CONTRACT §9 kind has its own fixed 128-bit MESSAGE_ID", "[supervisor]") {
  std::set<std::string> seen;
  for (const char* k : kKinds) {
    INFO(k);
    const std::string id(event_message_id(k));
    CHECK(std::regex_match(id, std::regex("[0-9a-f]{32}")));
    seen.insert(id);
  }
  CHECK(seen.size() == std::size(kKinds));
  CHECK(event_message_id("drift-killed") == "28d0755e0b5047e3a95350871f911b87");  // documented: never changes
  CHECK(event_message_id("no-such-kind").empty());
}

TEST_CASE("event journal: the fields of a drift kill", "[supervisor]") {
  const auto fields = journal_fields({"agent-1", "bottle-agent-1", "drift-killed", "pid 42: booted with any"});
  CHECK(fields == std::vector<std::string>{
                      "MESSAGE=bottle agent-1: drift-killed bottle-agent-1 pid 42: booted with any",
                      "PRIORITY=4",
                      "MESSAGE_ID=28d0755e0b5047e3a95350871f911b87",
                      "SYSLOG_IDENTIFIER=bottle-supervisor",
                      "BOTTLE=agent-1",
                      "MACHINE=bottle-agent-1",
                      "EVENT=drift-killed",
                      "DETAIL=pid 42: booted with any",
                  });
}

TEST_CASE("event journal: no MACHINE= or DETAIL= field when the event has none", "[supervisor]") {
  const auto fields = journal_fields({"agent-1", "", "lease-released", ""});
  CHECK(fields == std::vector<std::string>{"MESSAGE=bottle agent-1: lease-released", "PRIORITY=6",
                                           "MESSAGE_ID=1e167ea1640049ae881ec35d85d1fa01",
                                           "SYSLOG_IDENTIFIER=bottle-supervisor", "BOTTLE=agent-1",
                                           "EVENT=lease-released"});
}
