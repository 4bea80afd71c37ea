// The work queue on a fake clock: deduplication, one step per key at a time, delayed adds and
// per-key backoff, all without sleeping.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "support/fake_time.h"
#include "supervisor/work_queue.h"

using namespace std::chrono_literals;
using bs::supervisor::WorkQueue;
using bs::test::FakeTime;

namespace {

// A queue whose handler records each call and, unless told to hold a key, finishes it at once.
struct RecordingQueue {
  FakeTime time;
  std::vector<std::string> calls;
  std::set<std::string> hold;  // keys whose step the test finishes itself (async work)
  WorkQueue queue{time, [this](const std::string& key) {
                    calls.push_back(key);
                    if (hold.count(key) == 0) queue.done(key);
                  }};
};

}  // namespace

TEST_CASE("work queue: adds of one key before it runs are one step", "[daemon-unit]") {
  RecordingQueue q;
  q.queue.add("a");
  q.queue.add("b");
  q.queue.add("a");
  CHECK(q.calls.empty());  // nothing runs inside add(): the drain is a 0 ms alarm
  q.time.run_due();
  CHECK(q.calls == std::vector<std::string>{"a", "b"});
  CHECK(q.queue.idle());
}

TEST_CASE("work queue: an add while the key is processed runs it once more after done()", "[daemon-unit]") {
  RecordingQueue q;
  q.hold = {"a"};
  q.queue.add("a");
  q.time.run_due();
  REQUIRE(q.queue.processing("a"));
  q.queue.add("a");
  q.queue.add("a");
  q.time.run_due();
  CHECK(q.calls.size() == 1);  // never two steps of one key at once
  q.hold.clear();
  q.queue.done("a");
  q.time.run_due();
  CHECK(q.calls.size() == 2);  // the dirty key ran again, once
  CHECK(q.queue.idle());
}

TEST_CASE("work queue: add_after runs at its time, the earlier of two wins, an add supersedes it", "[daemon-unit]") {
  RecordingQueue q;
  q.queue.add_after("a", 500ms);
  q.queue.add_after("a", 2000ms);  // later: ignored
  REQUIRE(q.queue.scheduled("a"));
  CHECK(*q.queue.scheduled("a") == q.time.now() + 500ms);
  q.time.advance(499ms);
  CHECK(q.calls.empty());
  q.time.advance(1ms);
  CHECK(q.calls == std::vector<std::string>{"a"});
  CHECK_FALSE(q.queue.scheduled("a"));
  q.time.advance(5000ms);
  CHECK(q.calls.size() == 1);  // the later add_after was not kept

  q.queue.add_after("b", 1000ms);
  q.queue.add_after("b", 100ms);  // earlier: replaces
  q.time.advance(100ms);
  CHECK(q.calls.back() == "b");
  q.queue.add_after("c", 1000ms);
  q.queue.add("c");  // at once, and the delayed one is dropped
  q.time.run_due();
  CHECK(q.calls.back() == "c");
  const auto n = q.calls.size();
  q.time.advance(2000ms);
  CHECK(q.calls.size() == n);
  CHECK(q.time.pending() == 0);
}

TEST_CASE("work queue: failures back off per key, doubling to the cap, reset by forget", "[daemon-unit]") {
  RecordingQueue q;
  q.queue.set_backoff(1000ms, 8000ms);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(q.queue.add_rate_limited("a"));
  CHECK(delays == std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 4000ms, 8000ms, 8000ms, 8000ms});
  CHECK(q.queue.failures("a") == 6);
  CHECK(q.queue.add_rate_limited("b") == 1000ms);  // per key
  q.queue.forget("a");
  CHECK(q.queue.failures("a") == 0);
  CHECK(q.queue.add_rate_limited("a") == 1000ms);
}

TEST_CASE("work queue: a key that fails every time is retried a bounded number of times (no hot loop)",
          "[daemon-unit]") {
  FakeTime time;
  int steps = 0;
  WorkQueue* qp = nullptr;
  WorkQueue queue{time, [&](const std::string& key) {
                    ++steps;
                    qp->done_failed(key);  // every step fails
                  }};
  qp = &queue;
  queue.set_backoff(1000ms, 300000ms);
  queue.add("broken");
  // Ten simulated minutes: 1+2+4+...+256 s is 511 s, then 300 s steps: about 10 steps, never
  // thousands.
  for (int s = 0; s < 600; ++s) time.advance(1000ms);
  CHECK(steps >= 9);
  CHECK(steps <= 11);
}

TEST_CASE("work queue: adds made while a step fails do not cut its backoff short (no hot loop)",
          "[daemon-unit]") {
  // Each failing step's own work re-adds the key while it runs (a failing start writes the row;
  // a VM killed during its start queues the bottle): the retry still waits its backoff.
  FakeTime time;
  int steps = 0;
  WorkQueue* qp = nullptr;
  WorkQueue queue{time, [&](const std::string& key) {
                    ++steps;
                    qp->add(key);  // an event of the step's own making, while it runs
                    qp->done_failed(key);
                  }};
  qp = &queue;
  queue.set_backoff(200ms, 300000ms);
  queue.add("drifting");
  time.run_due();
  CHECK(steps == 1);
  time.advance(199ms);
  CHECK(steps == 1);  // not at once, though the key was added while it ran
  time.advance(1ms);
  CHECK(steps == 2);
  // Five seconds: tries at 0, 0.2, 0.6, 1.4, 3.0 s.
  for (int ms = 200; ms < 5000; ms += 10) time.advance(10ms);
  CHECK(steps == 5);

  // An add after the failure (a spec edit) still supersedes the backoff.
  queue.add("drifting");
  time.run_due();
  CHECK(steps == 6);
}
