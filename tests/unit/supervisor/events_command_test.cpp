// `events`: the audit log from a real state DB, as JSON Lines and as a table.
#include <csignal>
#include <future>
#include <mutex>
#include <regex>

#include "cli_test_support.h"
#include "store/state_store.h"
#include "supervisor/commands.h"
#include "supervisor/event_filter.h"
#include "supervisor/status_table.h"

using bs::supervisor::CommandIo;
using bs::supervisor::Invocation;
using bs::supervisor::Settings;
using nlohmann::json;

namespace {

constexpr std::int64_t kNoon = 1'795'953'600'000;  // 2026-11-29T12:00:00Z

struct Run {
  int code;
  std::string out, err;
};

Run events(const Settings& settings, Invocation inv) {
  inv.command = bs::supervisor::Command::Events;
  std::ostringstream out, err;
  CommandIo io{out, err, false, bs::platform::map_env({}), [] { return kNoon + 60'000; }};
  int code = bs::supervisor::cmd_events(settings, inv, io);
  return {code, out.str(), err.str()};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void seed(const std::string& state_dir) {
  auto db = bs::store::StateStore::open(state_dir);
  REQUIRE(db.has_value());
  REQUIRE_FALSE(db->append_event({0, kNoon, "agent-1", "bottle-agent-1", "lease-acquired", "127.0.0.16"}));
  REQUIRE_FALSE(db->append_event({0, kNoon + 1'500, "agent-2", "bottle-agent-2", "created", "alpine:3.20"}));
  REQUIRE_FALSE(db->append_event({0, kNoon + 30'000, "agent-1", "bottle-agent-1", "drift-killed",
                                  "pid 4242 booted with [\"0.0.0.0/0\"], desired [\"127.0.0.16/32\"]"}));
}

}  // namespace

TEST_CASE("events: JSON Lines, oldest first, RFC 3339 UTC timestamps", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  seed(settings.state_dir);

  Invocation inv;
  inv.json = true;
  auto r = events(settings, inv);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        R"({"ts":"2026-11-29T12:00:00Z","bottle":"agent-1","machine":"bottle-agent-1","kind":"lease-acquired","detail":"127.0.0.16"})");
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  for (const auto& l : lines) {
    json j = json::parse(l);
    REQUIRE(j.is_object());
    CHECK(j.size() == 5);
    for (const char* key : {"ts", "bottle", "machine", "kind", "detail"}) CHECK(j[key].is_string());
    CHECK(std::regex_match(j["ts"].get<std::string>(), rfc3339));
  }
  CHECK(json::parse(lines[1])["ts"] == "2026-11-29T12:00:01Z");
  CHECK(json::parse(lines[2])["kind"] == "drift-killed");
  CHECK(json::parse(lines[2])["detail"] == "pid 4242 booted with [\"0.0.0.0/0\"], desired [\"127.0.0.16/32\"]");
}

TEST_CASE("events: --bottle and --since filter", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  seed(settings.state_dir);

  Invocation inv;
  inv.json = true;
  inv.bottle = "agent-2";
  auto only = lines_of(events(settings, inv).out);
  REQUIRE(only.size() == 1);
  CHECK(json::parse(only[0])["bottle"] == "agent-2");

  Invocation recent;
  recent.json = true;
  recent.since = std::chrono::seconds(45);  // "now" is noon + 60 s: only the drift kill at +30 s
  auto newer = lines_of(events(settings, recent).out);
  REQUIRE(newer.size() == 1);
  CHECK(json::parse(newer[0])["kind"] == "drift-killed");
}

TEST_CASE("events: the human table", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  seed(settings.state_dir);
  auto r = events(settings, Invocation{});
  CHECK(r.code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "TIME                  BOTTLE   MACHINE         KIND            DETAIL");
  CHECK(lines[1] == "2026-11-29T12:00:00Z  agent-1  bottle-agent-1  lease-acquired  127.0.0.16");
  CHECK(lines[2] == "2026-11-29T12:00:01Z  agent-2  bottle-agent-2  created         alpine:3.20");
  // A long detail runs on past 100 columns rather than being cut: the log never hides a fact.
  CHECK(lines[3] == "2026-11-29T12:00:30Z  agent-1  bottle-agent-1  drift-killed    "
                    "pid 4242 booted with [\"0.0.0.0/0\"], desired [\"127.0.0.16/32\"]");
  for (std::size_t i = 0; i < 3; ++i) CHECK(bs::supervisor::display_width(lines[i]) <= 100);
}

TEST_CASE("events: a missing state dir or state.db is an error naming it, and nothing is created", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "never-ran";
  auto r = events(settings, Invocation{});  // before: nothing printed, exit 0 (a typo looked like an empty log)
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::StartsWith("error: cannot read the audit log: the state directory " + tmp / "never-ran" +
                                      " does not exist\n"));
  CHECK_FALSE(std::filesystem::exists(settings.state_dir));

  std::filesystem::create_directories(settings.state_dir);
  r = events(settings, Invocation{});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("error: cannot read the audit log: " + tmp / "never-ran/state.db" +
                                      " does not exist"));
  CHECK_FALSE(std::filesystem::exists(tmp / "never-ran/state.db"));
}

TEST_CASE("events: the store is opened read-only and never migrated", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  seed(settings.state_dir);
  auto ro = bs::store::StateStore::open_read_only(settings.state_dir);
  REQUIRE(ro.has_value());
  CHECK(ro->events("", 0, 0, 0).has_value());
  bs::store::Event e;
  e.kind = "created";
  auto err = ro->append_event(e);
  REQUIRE(err.has_value());  // a read-only connection cannot write
  CHECK(err->kind == bs::store::StoreError::Kind::ReadOnly);
  auto r = events(settings, Invocation{});
  CHECK(r.code == 0);
}

namespace {

// An output stream another thread may read while `events --follow` writes to it.
class SharedText : public std::streambuf {
 public:
  std::string text() const {
    std::lock_guard<std::mutex> lock(m_);
    return text_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    std::lock_guard<std::mutex> lock(m_);
    text_ += static_cast<char>(c);
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(m_);
    text_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  mutable std::mutex m_;
  std::string text_;
};

}  // namespace

TEST_CASE("events: --follow prints new events until SIGTERM", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  seed(settings.state_dir);

  SharedText text;
  std::ostream out(&text);
  std::ostringstream err;
  Invocation inv;
  inv.command = bs::supervisor::Command::Events;
  inv.json = true;
  inv.follow = true;
  inv.tail = 10;  // -n 10 -f: the last ones first, then new ones
  inv.bottle = "agent-1";
  CommandIo io{out, err, false, bs::platform::map_env({}), [] { return kNoon; }};
  auto follower = std::async(std::launch::async, [&] { return bs::supervisor::cmd_events(settings, inv, io); });

  auto wait_for_lines = [&](std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (lines_of(text.text()).size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return lines_of(text.text()).size();
  };
  REQUIRE(wait_for_lines(2) == 2);  // agent-1's two events; the follower's handlers are in place

  auto db = bs::store::StateStore::open(settings.state_dir);
  REQUIRE(db.has_value());
  REQUIRE_FALSE(db->append_event({0, kNoon + 90'000, "agent-2", "bottle-agent-2", "started", "pid 7"}));
  REQUIRE_FALSE(db->append_event({0, kNoon + 91'000, "agent-1", "bottle-agent-1", "started", "pid 8"}));
  REQUIRE(wait_for_lines(3) == 3);
  CHECK(json::parse(lines_of(text.text())[2])["detail"] == "pid 8");  // agent-2's was filtered out

  REQUIRE(kill(getpid(), SIGTERM) == 0);
  REQUIRE(follower.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(follower.get() == 0);
  CHECK(err.str().empty());
}

TEST_CASE("events: the filter by bottle, kind, since and until, and the last N", "[supervisor]") {
  using bs::store::Event;
  std::vector<Event> log = {{1, 100, "a", "m-a", "started", ""},
                            {2, 200, "b", "m-b", "drift-killed", ""},
                            {3, 300, "a", "m-a", "drift-killed", ""},
                            {4, 400, "a", "m-a", "stopped", ""},
                            {5, 500, "a", "m-a", "drift-killed", ""}};
  auto ids = [](const std::vector<Event>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
  };
  bs::supervisor::EventFilter all;
  CHECK(ids(bs::supervisor::select_events(log, all, std::nullopt)) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  CHECK(ids(bs::supervisor::select_events(log, all, 2)) == std::vector<std::int64_t>{4, 5});
  CHECK(ids(bs::supervisor::select_events(log, all, 0)).empty());
  bs::supervisor::EventFilter kills;
  kills.kinds = {"drift-killed"};
  kills.bottle = "a";
  CHECK(ids(bs::supervisor::select_events(log, kills, std::nullopt)) == std::vector<std::int64_t>{3, 5});
  CHECK(ids(bs::supervisor::select_events(log, kills, 1)) == std::vector<std::int64_t>{5});
  bs::supervisor::EventFilter window;
  window.since_ms = 200;
  window.until_ms = 400;  // exclusive
  window.kinds = {"drift-killed", "stopped"};
  CHECK(ids(bs::supervisor::select_events(log, window, std::nullopt)) == std::vector<std::int64_t>{2, 3});
}

TEST_CASE("events: --kind, --until, -n on a real DB; an unknown --bottle is an error", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  Settings settings;
  settings.state_dir = tmp / "state";
  settings.specs_dir = tmp / "specs";
  seed(settings.state_dir);

  Invocation kinds;
  kinds.json = true;
  kinds.kinds = {"created", "drift-killed"};
  kinds.tail = 1;
  auto r = events(settings, kinds);
  INFO(r.err);
  CHECK(r.code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  CHECK(json::parse(lines[0])["kind"] == "drift-killed");

  Invocation until;
  until.json = true;
  until.until_at_ms = kNoon + 1'500;
  CHECK(lines_of(events(settings, until).out).size() == 1);

  Invocation unknown;
  unknown.bottle = "agent-9";
  r = events(settings, unknown);
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("no bottle named 'agent-9'"));
  unknown.bottle = "agent-2";  // known from its events
  CHECK(events(settings, unknown).code == 0);
}
