// The human status table: 100 columns at most, long cells cut with "…", colour only on request.
#include <catch2/catch.hpp>

#include "supervisor/status_table.h"

using bs::supervisor::display_width;
using bs::supervisor::format_age;
using bs::supervisor::parse_rfc3339;
using bs::supervisor::render_status_table;
using bs::supervisor::TableStyle;
using nlohmann::json;

namespace {

// 2026-11-29T12:00:00Z
constexpr std::int64_t kNoon = 1'795'953'600'000;

json bottle(const std::string& name, const std::string& confinement, bool converged, json error = nullptr) {
  return json{{"name", name},
              {"machine", "bottle-" + name},
              {"spec", "/home/u/.config/bottle-supervisor/bottles/" + name + ".toml"},
              {"address", "127.0.0.16"},
              {"allowlist", {"127.0.0.16/32"}},
              {"desired", "running"},
              {"actual", converged ? "running" : "stopped"},
              {"pid", converged ? json(4242) : json(nullptr)},
              {"confinement", confinement},
              {"converged", converged},
              {"error", error},
              {"last_event", "started"},
              {"last_event_at", "2026-11-29T11:59:48Z"}};
}

// A vector, not a json: `json{x}` with a single json x is an array under GCC but a copy of x
// under clang.
json document(const std::vector<json>& bottles) {
  return json{{"supervisor",
               {{"version", "0.1.0"},
                {"pid", 1234},
                {"uptime_s", 7380.5},
                {"specs", "/home/u/.config/bottle-supervisor/bottles"},
                {"smolvm_db", "/home/u/.local/share/smolvm/server/smolvm.db"},
                {"kvm", "ok"},
                {"last_resync", "2026-11-29T11:59:30Z"},
                {"counters", {{"patches", 3}, {"drift_kills", 1}, {"starts", 4}, {"stops", 0}, {"errors", 2}}}}},
              {"bottles", json(bottles)}};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    REQUIRE(nl != std::string::npos);  // every line ends with '\n'
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

TEST_CASE("status table: a sample document fits 100 columns", "[supervisor]") {
  TableStyle style;
  style.now_ms = kNoon;
  json doc = document({bottle("agent-1", "verified", true),
                       bottle("agent-2", "pending", false),
                       bottle("scratch", "drifted", false,
                              "VM 4242 booted with [\"0.0.0.0/0\"] instead of [\"127.0.0.17/32\"]; killed and "
                              "restarting it confined, which can take a while when the image is large")});
  std::string out = render_status_table(doc, style);
  INFO(out);
  auto lines = lines_of(out);
  REQUIRE(lines.size() == 6);
  for (const auto& l : lines) CHECK(display_width(l) <= 100);
  CHECK(lines[0] == "bottle-supervisor 0.1.0  pid 1234  up 2h03m  last resync 30s ago");
  CHECK(lines[1] == "patches 3  drift-kills 1  starts 4  stops 0  errors 2");
  CHECK(lines[2] == "NAME     MACHINE         ADDRESS     DESIRED  ACTUAL   CONFINEMENT  PID   DETAIL");
  CHECK(lines[3] == "agent-1  bottle-agent-1  127.0.0.16  running  running  verified     4242  started 12s ago");
  CHECK(lines[4] == "agent-2  bottle-agent-2  127.0.0.16  running  stopped  pending      -     started 12s ago");
  CHECK(lines[5] == "scratch  bottle-scratch  127.0.0.16  running  stopped  drifted      -     "
                    "VM 4242 booted with [\"0.0…");
  CHECK(display_width(lines[5]) == 100);
  CHECK(out.find('\x1b') == std::string::npos);  // no colour unless asked
}

TEST_CASE("status table: long names share the cut with the detail", "[supervisor]") {
  TableStyle style;
  style.now_ms = kNoon;
  const std::string long_name = "a-very-long-bottle-name-that-uses-most-of-48-ch";
  json b = bottle(long_name, "unverifiable", false, "cannot verify: the vms row of bottle-x is TEXT, smolvm cannot read it");
  b["machine"] = "machine-with-a-name-as-long-as-smolvm-allows-which-is-63-chars";
  std::string out = render_status_table(document({b, bottle("b", "verified", true)}), style);
  INFO(out);
  for (const auto& l : lines_of(out)) CHECK(display_width(l) <= 100);
  auto lines = lines_of(out);
  // NAME, MACHINE and DETAIL give up columns evenly; the fixed columns are never cut.
  CHECK(lines[3] == "a-very-long-bo…  machine-with-a-…  127.0.0.16  running  stopped  unverifiable  -     cannot verify:…");
  CHECK(lines[4] == "b                bottle-b          127.0.0.16  running  running  verified      4242  started 12s ago");
}

TEST_CASE("status table: colour marks confinement and errors, and never counts as width", "[supervisor]") {
  TableStyle style;
  style.now_ms = kNoon;
  style.color = true;
  json doc = document({bottle("a", "verified", true), bottle("b", "pending", false),
                       bottle("c", "drifted", false, "drift"), bottle("d", "unverifiable", false, "no row")});
  std::string out = render_status_table(doc, style);
  CHECK_THAT(out, Catch::Contains("\x1b[32mverified\x1b[0m"));
  CHECK_THAT(out, Catch::Contains("\x1b[33mpending\x1b[0m"));
  CHECK_THAT(out, Catch::Contains("\x1b[31mdrifted\x1b[0m"));
  CHECK_THAT(out, Catch::Contains("\x1b[31munverifiable\x1b[0m"));
  CHECK_THAT(out, Catch::Contains("\x1b[31mno row\x1b[0m"));
  style.color = false;
  std::string plain = render_status_table(doc, style);
  auto coloured = lines_of(out);
  auto uncoloured = lines_of(plain);
  REQUIRE(coloured.size() == uncoloured.size());
  for (std::size_t i = 0; i < coloured.size(); ++i) CHECK(display_width(coloured[i]) == display_width(uncoloured[i]));
}

TEST_CASE("status table: hostile and missing fields", "[supervisor]") {
  TableStyle style;
  style.now_ms = kNoon;
  SECTION("control characters from an error message never reach the terminal") {
    json doc = document({bottle("a", "pending", false, "line one\nline two \x1b[2J\xc2\x9b" "31m")});
    std::string out = render_status_table(doc, style);
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(out.find("\xc2\x9b") == std::string::npos);
    CHECK(lines_of(out).size() == 4);
  }
  SECTION("no bottles") {
    std::string out = render_status_table(document({}), style);
    CHECK(lines_of(out)[2] == "no bottles (specs in /home/u/.config/bottle-supervisor/bottles)");
  }
  SECTION("a document with nothing in it still renders") {
    std::string out = render_status_table(json::object(), style);
    CHECK_THAT(out, Catch::StartsWith("bottle-supervisor -  pid -  no resync yet\npatches -  drift-kills -"));
    json odd = document({json{{"name", 7}, {"pid", "x"}, {"converged", "yes"}}, json("not an object")});
    for (const auto& l : lines_of(render_status_table(odd, style))) CHECK(display_width(l) <= 100);
  }
  SECTION("kvm trouble shows in the summary") {
    json doc = document({});
    doc["supervisor"]["kvm"] = "no-access";
    CHECK_THAT(render_status_table(doc, style), Catch::Contains("kvm no-access"));
  }
}

TEST_CASE("status table: time helpers", "[supervisor]") {
  CHECK(parse_rfc3339("2026-11-29T12:00:00Z") == kNoon);
  CHECK(parse_rfc3339("2026-11-29T12:00:00.250Z") == kNoon + 250);
  CHECK(parse_rfc3339("2026-11-29T13:30:00+01:30") == kNoon);
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2000-02-29T00:00:00Z") == 951'782'400'000);
  CHECK_FALSE(parse_rfc3339("2026-11-29 12:00").has_value());
  CHECK_FALSE(parse_rfc3339("2026-13-29T12:00:00Z").has_value());
  CHECK_FALSE(parse_rfc3339("2026-11-29T12:00:00").has_value());
  CHECK_FALSE(parse_rfc3339("2026-11-29T12:00:00Zjunk").has_value());
  CHECK_FALSE(parse_rfc3339("").has_value());

  CHECK(format_age(0) == "0s");
  CHECK(format_age(59'999) == "59s");
  CHECK(format_age(60'000) == "1m");
  CHECK(format_age(3'599'000) == "59m");
  CHECK(format_age(3'600'000) == "1h00m");
  CHECK(format_age(7'380'500) == "2h03m");
  CHECK(format_age(49 * 3'600'000LL) == "2d");
  CHECK(format_age(-5) == "0s");

  CHECK(display_width("abc") == 3);
  CHECK(display_width("a…") == 2);
  CHECK(display_width("\x1b[31mred\x1b[0m") == 3);
}

TEST_CASE("status table: a spec folder that cannot be read or trusted gets a line of its own", "[supervisor]") {
  TableStyle style;
  style.now_ms = kNoon;
  json doc = document({bottle("a", "verified", false, "held: spec folder gone")});
  CHECK(render_status_table(doc, style).find("spec folder:") == std::string::npos);
  doc["supervisor"]["spec_folder_problem"] = "spec folder /x/bottles: No such file or directory";
  const std::string out = render_status_table(doc, style);
  CHECK(out.find("spec folder: spec folder /x/bottles: No such file or directory (every bottle held)\n") !=
        std::string::npos);
  CHECK(lines_of(out).size() == lines_of(render_status_table(document({bottle("a", "verified", false)}), style)).size() + 1);
}

TEST_CASE("status table: fits 80, 100 and 200 columns with a long error; MACHINE goes first", "[supervisor]") {
  const std::string spec = "/home/u/.config/bottle-supervisor/bottles/scratch.toml";
  json broken = bottle("scratch", "unverifiable", false,
                       spec + ":3: key 'allow': \"10.0.0.0/33\" is not a CIDR (prefix length above 32); the "
                              "bottle keeps its last valid spec until this is fixed");
  json doc = document({bottle("agent-1", "verified", true), broken});
  for (std::size_t width : {80u, 100u, 200u}) {
    TableStyle style;
    style.now_ms = kNoon;
    style.width = width;
    std::string out = render_status_table(doc, style);
    INFO(width << "\n" << out);
    auto lines = lines_of(out);
    REQUIRE(lines.size() == 5);
    for (const auto& l : lines) CHECK(display_width(l) <= width);
    // The message comes first; a cut line loses the path, not the reason.
    CHECK(lines[4].find("key 'allow'") != std::string::npos);
    CHECK((lines[2].find("MACHINE") != std::string::npos) == (width > 80));
  }
  TableStyle wide;
  wide.now_ms = kNoon;
  wide.width = bs::supervisor::kUnlimited;
  std::string out = render_status_table(doc, wide);
  CHECK(out.find("…") == std::string::npos);
  CHECK(out.find("until this is fixed (" + spec + ":3)\n") != std::string::npos);
}

TEST_CASE("status table: message first, spec path last", "[supervisor]") {
  using bs::supervisor::message_first;
  CHECK(message_first("/s/a.toml:3: bad key", "/s/a.toml") == "bad key (/s/a.toml:3)");
  CHECK(message_first("/s/a.toml: unreadable", "/s/a.toml") == "unreadable (/s/a.toml)");
  CHECK(message_first("/s/a.toml:2:8: cpus = 0 is out of range", "/s/a.toml") ==
        "cpus = 0 is out of range (/s/a.toml:2:8)");
  CHECK(message_first("smolvm failed", "/s/a.toml") == "smolvm failed");
  CHECK(message_first("/s/a.tomlx: x", "/s/a.toml") == "/s/a.tomlx: x");
}

TEST_CASE("status table: DETAIL shows the backoff from retry; -o name lists names", "[supervisor]") {
  json b = bottle("agent-1", "verified", false, "the VM exited 5 time(s) within 10 minutes of its start; restart "
                                                "backoff, next start at 2026-11-29T12:00:16Z");
  b["retry"] = {{"reason", "the VM exited 5 time(s) within 10 minutes of its start; restart backoff"},
                {"count", 5},
                {"next_at", "2026-11-29T12:00:16Z"}};
  CHECK(bs::supervisor::detail_of(b, kNoon) == "restarting in 16s (5th)");
  json f = bottle("agent-2", "pending", false, "smolvm machine create failed: exit 1");
  f["retry"] = {{"reason", "smolvm machine create failed: exit 1"}, {"count", 2}, {"next_at", "2026-11-29T12:00:04Z"}};
  CHECK(bs::supervisor::detail_of(f, kNoon) == "retrying in 4s (2nd): smolvm machine create failed: exit 1");
  CHECK(bs::supervisor::render_status_names(document({b, f})) == "agent-1\nagent-2\n");
}
