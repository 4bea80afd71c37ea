// The state dir on a full filesystem (a 512 KiB tmpfs, root only): the daemon says so clearly,
// keeps its store sound and its loop answering, and carries on once space returns.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "fault_support.h"
#include "support/small_tmpfs.h"

using namespace bs::integ;

namespace {

bool says_disk_full(const std::string& text) {
  static const std::regex full("disk is full|no space left|SQLITE_FULL",
                               std::regex::icase);
  return std::regex_search(text, full);
}

}  // namespace

TEST_CASE("fault: the state dir's filesystem full: a clear error, a sound store, recovery when space returns",
          "[integration][fault]") {
  TempHome h;
  bs::test::SmallTmpfs tmpfs(h.state_dir(), "512k");
  if (!tmpfs.mounted()) {
    WARN("skipped: cannot mount a tmpfs on " << h.state_dir() << " (" << tmpfs.error() << "); needs root");
    return;
  }
  Daemon d(h);
  d.wait_answering();
  h.write_spec("disk-a", spec_toml());
  h.wait_verified("disk-a");
  const std::size_t events_before = read_state(h).events.size();

  const std::string filler = h.state_dir() + "/filler";
  const std::size_t filled = bs::test::fill_until_full(filler).bytes;
  INFO("filler: " << filled << " bytes");
  // Work that must write the store: a new bottle (lease, events) and an edit (patch events).
  h.write_spec("disk-b", spec_toml());
  h.write_spec("disk-a", spec_toml("[egress]\nallow = [\"10.0.0.0/8\"]"));

  Json b;
  h.wait_until("the full disk to show in status or the daemon's log", [&] {
    b = h.status().bottle("disk-b");
    return (b.is_object() && b["error"].is_string() && says_disk_full(b["error"])) || says_disk_full(d.log());
  }, Ms(20000));
  INFO("disk-b while full: " << b.dump());
  // The events that could not be written wait in the daemon (before: written to stderr only).
  h.wait_until("status to count audit events waiting for the store", [&] {
    Status s = h.status();
    return s.doc.is_object() && s.doc["supervisor"]["events_pending"].is_number() &&
           s.doc["supervisor"]["events_pending"].get<int>() > 0;
  }, Ms(20000));
  // The edit of disk-a drift-kills its VM (booted with the old policy) while the disk is full.
  h.wait_until("disk-a's old VM to be drift-killed", [&] { return contains(d.log(), "drift-killed"); }, Ms(20000));
  CHECK(contains(d.log(), "no space left"));  // and what to do about it
  CHECK(contains(d.log(), "free some space"));
  // Failing closed: a bottle whose lease cannot be stored gets nothing the store cannot account for.
  CHECK_FALSE(verified_running(b));
  for (const BootVm& vm : boot_vms(h)) CHECK(vm.machine != "bottle-disk-b");
  // The daemon itself carries on: it answers, and the VM that needs no new write stays confined.
  Status st = h.status();
  REQUIRE(st.doc.is_object());
  CHECK_FALSE(d.exit_code().has_value());
  CHECK(integrity_check(state_db_path(h)) == "ok");

  // Space returns.
  std::filesystem::remove(filler);
  const auto freed = Clock::now();
  Json ok = h.wait_verified("disk-b", Ms(40000));
  Json a = h.wait_verified("disk-a", Ms(20000));
  print_metric("recovered_after_space_ms", elapsed_ms(freed));
  CHECK(a["allowlist"] == Json::array({"10.0.0.0/8", a["address"].get<std::string>() + "/32"}));
  CHECK(h.booted_policy(a["pid"]) == a["allowlist"]);
  CHECK(h.booted_policy(ok["pid"]) == Json::array({ok["address"].get<std::string>() + "/32"}));

  // Events are recorded again, those that happened while the disk was full too (queued, then
  // written by the retry), the leases add up, and the store is sound.
  h.wait_until("the queued events to be written", [&] {
    Status s = h.status();
    return s.doc.is_object() && s.doc["supervisor"]["events_pending"] == 0;
  }, Ms(40000));
  print_metric("events_written_after_space_ms", elapsed_ms(freed));
  StateSnapshot state = read_state(h);
  CHECK(state.events.size() > events_before);
  bool b_lease_event = false;
  for (const auto& e : state.events) b_lease_event = b_lease_event || (e.kind == "lease-acquired" && e.bottle == "disk-b");
  CHECK(b_lease_event);
  CHECK(h.status().doc["supervisor"]["events_dropped"] == 0);
  CHECK_FALSE(h.events("drift-killed", "disk-a").empty());
  CHECK(state.leases.size() == 2);
  CHECK(integrity_check(state_db_path(h)) == "ok");
  CHECK(h.status().exit_code == 0);
}
