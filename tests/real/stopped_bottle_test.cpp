// Scenarios against real smolvm that need no booted VM: bottles with `state = "stopped"` become
// real machines whose rows the supervisor confines, keeps confined against other writers
// (sqlite, `smolvm machine update`), keeps across its restarts, and deletes when the spec goes.
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>

#include "real/real_smolvm.h"

using namespace bs::real;

namespace {

const std::string kStoppedSpec = spec_toml("state = \"stopped\"");

// `machine ls --json`'s entry for the machine (fails the test when it is not listed).
Json ls_entry(const RealHome& h, const std::string& machine) {
  for (const Json& m : h.machine_ls()) {
    if (m.value("name", "") == machine) return m;
  }
  FAIL("machine " << machine << " is not in `smolvm machine ls --json`");
  return nullptr;
}

std::size_t count_events(const RealHome& h, const std::string& kind, const std::string& bottle) {
  return h.events(kind, bottle).size();
}

// The row re-confined after another writer opened it: BLOB, the bottle's allowlist, every other
// value as before, and smolvm itself still reads it.
void check_repatched(const RealHome& h, const StoredRow& before, std::size_t patches_before) {
  h.wait_until("the row of bottle-b1 patched back to its /32", [&] {
    auto r = h.row("bottle-b1");
    return r && r->json()["allowed_cidrs"] == kFirstAllowlist && count_events(h, "patched", "b1") > patches_before;
  });
  auto after = h.row("bottle-b1");
  REQUIRE(after);
  CHECK(after->blob);
  CHECK(after->json() == before.json());
  CHECK(ls_entry(h, "bottle-b1")["allowed_cidrs"] == kFirstAllowlist);
  h.wait_confined_stopped("b1");
}

}  // namespace

TEST_CASE("real: a stopped bottle becomes a real machine confined to its /32", "[real]") {
  require_real_smolvm();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", kStoppedSpec);
  Json b = h.wait_confined_stopped("b1");
  CHECK(b["address"] == "127.0.0.16");
  CHECK(b["allowlist"] == kFirstAllowlist);
  CHECK(b["machine"] == "bottle-b1");

  auto row = h.row("bottle-b1");
  REQUIRE(row);
  CHECK(row->blob);
  const Json rec = row->json();
  CHECK(rec["allowed_cidrs"] == kFirstAllowlist);
  CHECK(rec["network"] == true);
  CHECK(rec["state"] == "created");
  CHECK(rec["pid"].is_null());
  CHECK(rec["cpus"] == 1);
  CHECK(rec["mem"] == 512);
  CHECK(rec["image"] == "alpine:3.20");

  Json ls = ls_entry(h, "bottle-b1");
  CHECK(ls["allowed_cidrs"] == kFirstAllowlist);
  CHECK(ls["state"] == "created");

  Status st = h.status();
  CHECK(st.exit_code == 0);
  CHECK(st.doc["supervisor"]["smolvm_db"] == h.db_path());
  CHECK(count_events(h, "lease-acquired", "b1") == 1);
  CHECK(count_events(h, "created", "b1") == 1);
  // The row was checked after the create: the audit log must say so (verified, or patched when
  // smolvm dropped the flag).
  CHECK(count_events(h, "verified", "b1") + count_events(h, "patched", "b1") >= 1);
  CHECK(count_events(h, "started", "b1") == 0);
  CHECK(count_events(h, "error", "b1") == 0);
}

TEST_CASE("real: a row opened to null by another sqlite writer is re-patched", "[real]") {
  require_real_smolvm();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", kStoppedSpec);
  h.wait_confined_stopped("b1");
  auto before = h.row("bottle-b1");
  REQUIRE(before);
  const std::size_t patches = count_events(h, "patched", "b1");

  set_allowed_cidrs(h.db_path(), "bottle-b1", nullptr);
  check_repatched(h, *before, patches);
  // Byte for byte: only allowed_cidrs was touched, twice, and it is back.
  CHECK(h.row("bottle-b1")->data == before->data);
}

TEST_CASE("real: a row opened to null by `smolvm machine update` is re-patched", "[real]") {
  require_real_smolvm();
  RealHome h;
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", kStoppedSpec);
  h.wait_confined_stopped("b1");
  auto before = h.row("bottle-b1");
  REQUIRE(before);
  const std::size_t patches = count_events(h, "patched", "b1");

  // smolvm refuses to drop the last CIDR unless told explicitly that egress may go anywhere.
  RunResult opened = h.smolvm({"machine", "update", "--name", "bottle-b1", "--net", "--reset-allow-list"});
  INFO(opened.describe());
  REQUIRE(opened.exit_code == 0);
  CHECK(contains(opened.out, "allowed CIDRs: any"));
  check_repatched(h, *before, patches);
}

TEST_CASE("real: removing the spec deletes the machine and frees the lease", "[real]") {
  require_real_smolvm();
  RealHome h;  // removal_grace 300ms
  Daemon d(h);
  d.wait_answering();
  h.write_spec("b1", kStoppedSpec);
  h.wait_confined_stopped("b1");
  REQUIRE(h.listed("bottle-b1"));
  const std::string dir = h.data_dir("bottle-b1");

  h.remove_spec("b1");
  h.wait_until("bottle-b1 gone from `smolvm machine ls`", [&] { return !h.listed("bottle-b1"); });
  h.wait_until("the deleted and lease-released events of b1", [&] {
    return count_events(h, "deleted", "b1") == 1 && count_events(h, "lease-released", "b1") == 1;
  });
  h.wait_until("bottle b1 no longer listed", [&] { return h.status().bottle("b1").is_null(); });
  CHECK_FALSE(h.row("bottle-b1"));
  CHECK(h.data_dir("bottle-b1").empty());
  INFO("data dir " << dir);
  CHECK_FALSE(std::filesystem::exists(dir));

  // The address is free again: the next bottle gets it.
  h.write_spec("b2", kStoppedSpec);
  CHECK(h.wait_confined_stopped("b2")["address"] == "127.0.0.16");
}

TEST_CASE("real: a supervisor restart keeps the machine and its lease", "[real]") {
  require_real_smolvm();
  RealHome h;
  auto first = std::make_unique<Daemon>(h);
  first->wait_answering();
  h.write_spec("b1", kStoppedSpec);
  h.wait_confined_stopped("b1");
  auto before = h.row("bottle-b1");
  REQUIRE(before);
  CHECK(first->stop() == 0);
  first.reset();

  Daemon second(h);
  second.wait_answering();
  Json b = h.wait_confined_stopped("b1");
  CHECK(b["address"] == "127.0.0.16");
  CHECK(h.row("bottle-b1")->data == before->data);
  CHECK(count_events(h, "created", "b1") == 1);
  CHECK(count_events(h, "lease-acquired", "b1") == 1);
  CHECK(count_events(h, "deleted", "b1") == 0);
  CHECK(count_events(h, "adopted", "b1") == 0);
}
