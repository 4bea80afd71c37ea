// The sim's state DB: smolvm's schema and pragmas, the exact record bytes, and smolvm's read rules
// (BLOB only, serde defaults, unknown keys dropped on the next full rewrite).
#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;

namespace {

// The record real smolvm 1.32.2 writes for `create --name sb1 ... --allow-cidr 127.0.0.5/32`
// (read from its DB), with created_at and the image-source tail filled in.
std::string reference_record(std::uint64_t created_at, const std::string& image, const std::string& tail) {
  return R"({"name":"sb1","created_at":)" + std::to_string(created_at) +
         R"(,"state":"created","pid":null,"pid_start_time":null,"cpus":4,"mem":8192,"block_io":"sync",)"
         R"("disk_durability":"full","mounts":[],"staged_mounts":[],"staged_mounts_detached_from":null,"ports":[],)"
         R"("published_sockets":[],"network":true,"gpu":null,"nested_virt":null,"gpu_vram_mib":null,"rosetta":null,)"
         R"("restart":{"policy":"never","max_retries":0,"max_backoff_secs":0,"restart_count":0,"user_stopped":false},)"
         R"("last_exit_code":null,"init":[],"init_completed":false,"remote_volumes":[],"env":[],"workdir":null,)"
         R"("storage_gb":null,"overlay_gb":null,"allowed_cidrs":["127.0.0.5/32"],"image":")" + image +
         R"(","entrypoint":[],"cmd":[],"health_cmd":null,"health_interval_secs":null,"health_timeout_secs":null,)"
         R"("health_retries":null,"health_startup_grace_secs":null,"ssh_agent":false,"cuda":false,)"
         R"("docker_socket":false,"ephemeral":false,)" + tail + R"("runtime_managed":false})";
}

std::uint64_t now_secs() { return static_cast<std::uint64_t>(std::time(nullptr)); }

}  // namespace

TEST_CASE("every command creates smolvm's schema in WAL mode", "[sim]") {
  SimHome home;
  auto r = home.sim({"machine", "ls"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "No machines found\n");
  REQUIRE(bs::test::file_exists(home.db_path()));
  CHECK(home.sql_column("PRAGMA journal_mode") == std::vector<std::string>{"wal"});
  auto objects = home.sql_column(
      "SELECT type || ':' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
  CHECK(objects == std::vector<std::string>{"table:config", "table:fork_leases", "index:fork_leases_pool_state",
                                            "table:fork_pool_slots", "index:fork_pool_slots_pool_state",
                                            "table:fork_pool_snapshots", "table:fork_pools",
                                            "table:vm_create_reservations", "table:vms"});
  auto vms_sql = home.sql_column("SELECT sql FROM sqlite_master WHERE name = 'vms'");
  REQUIRE(vms_sql.size() == 1);
  CHECK(vms_sql[0] == "CREATE TABLE vms (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL)");
}

TEST_CASE("create stores the reference record byte for byte as a BLOB", "[sim]") {
  SimHome home;
  const auto before = now_secs();
  auto r = home.sim({"machine", "create", "--name", "sb1", "--image", "alpine:3.20", "--net", "--allow-cidr",
                     "127.0.0.5/32"});
  const auto after = now_secs();
  REQUIRE(r.exit_code == 0);
  CHECK(r.out ==
        "Created machine: sb1\n  CPUs: 4, Memory: 8192 MiB\n\n"
        "Use 'smolvm machine start --name sb1' to start the machine\n"
        "Then use 'smolvm machine exec --name sb1 -- <command>' to run commands\n");
  CHECK(r.err.empty());
  CHECK(home.row_type("sb1") == "blob");
  auto created_at = home.row("sb1")["created_at"].get<std::uint64_t>();
  CHECK(created_at >= before);
  CHECK(created_at <= after);
  CHECK(*home.row_bytes("sb1") == reference_record(created_at, "alpine:3.20", ""));
  CHECK(home.sql_column("SELECT count(*) FROM vm_create_reservations") == std::vector<std::string>{"0"});
  // 1.32.2 makes no data dir at create (only --from does); the first start makes it.
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("sb1")));
}

TEST_CASE("create from a smolmachine file records it and the pre-1.8 knob drops the CIDRs", "[sim]") {
  SimHome home;
  const std::string artifact = home.root() + "/a.smolmachine";
  { std::ofstream(artifact) << "not really a pack"; }

  auto r = home.sim({"machine", "create", "--name", "sb1", "--from", artifact, "--allow-cidr", "127.0.0.5/32"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("Extracting .smolmachine assets...\nCreated machine: sb1\n", 0) == 0);
  auto rec = home.row("sb1");
  CHECK(rec["source_smolmachine"] == artifact);  // already canonical: a plain /tmp path
  const std::string image = rec["image"].get<std::string>();
  CHECK(image.rfind("local:", 0) == 0);
  CHECK(*home.row_bytes("sb1") ==
        reference_record(rec["created_at"].get<std::uint64_t>(), image,
                         R"("source_smolmachine":")" + artifact + R"(",)"));

  auto old = home.sim({"machine", "create", "--name", "sb2", "--from", artifact, "--allow-cidr", "127.0.0.6/32"},
                      {{"SMOLVM_SIM_DROP_FROM_CIDRS", "1"}});
  REQUIRE(old.exit_code == 0);
  CHECK(home.row("sb2")["allowed_cidrs"].is_null());
  CHECK(home.row("sb2")["network"] == false);

  auto missing = home.sim({"machine", "create", "--name", "sb3", "--from", home.root() + "/nope.smolmachine"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "Error: config operation failed: create from .smolmachine: file not found: " + home.root() +
                           "/nope.smolmachine\n");
  CHECK_FALSE(home.row_bytes("sb3").has_value());
}

TEST_CASE("a TEXT-typed row breaks every command that reads it as in rusqlite", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "good", "--image", "alpine", "--net"}).exit_code == 0);
  auto good = *home.row_bytes("good");
  std::string text = good;
  text.replace(text.find("\"good\""), 6, "\"bad\"");
  home.put_row_text("bad", text);
  REQUIRE(home.row_type("bad") == "text");

  const std::string list_error =
      "Error: database operation failed: read vms row: Invalid column type Text at index: 1, name: data\n";
  for (const auto& args : std::vector<std::vector<std::string>>{{"machine", "ls"},
                                                                {"machine", "ls", "--json"},
                                                                {"machine", "stop", "--name", "good"},
                                                                {"machine", "delete", "--name", "good", "-f"},
                                                                {"machine", "status", "--name", "good", "--json"},
                                                                {"machine", "data-dir", "--name", "good"}}) {
    auto r = home.sim(args);
    INFO(args[1]);
    CHECK(r.exit_code == 1);
    CHECK(r.err == list_error);
  }
  auto start = home.sim({"machine", "start", "--name", "bad"});
  CHECK(start.exit_code == 1);
  CHECK(start.err == "Error: database operation failed: get vm 'bad': Invalid column type Text at index: 0, name: data\n");
  CHECK(home.row_bytes("good") == good);  // nothing was rewritten
}

TEST_CASE("unparseable and null-valued records fail with the deserialize message", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "ls"}).exit_code == 0);
  home.put_row_blob("junk", "{not json");
  auto r = home.sim({"machine", "ls"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("Error: database operation failed: deserialize vm record 'junk': ", 0) == 0);

  home.put_row_blob("junk", R"({"name":"junk","cpus":null})");
  r = home.sim({"machine", "ls", "--json"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: database operation failed: deserialize vm record 'junk': invalid type: null, expected u8\n");

  home.put_row_blob("junk", R"({"name":"junk","state":"created","state":"running"})");
  r = home.sim({"machine", "ls"});
  CHECK(r.err == "Error: database operation failed: deserialize vm record 'junk': duplicate field `state`\n");
}

TEST_CASE("a sparse record reads with serde defaults and is normalised by stop's full rewrite", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "ls"}).exit_code == 0);
  // Missing keys take serde's defaults; a start + stop then rewrites the whole record from its
  // parsed form, which drops unknown keys and spells out the nested defaults.
  home.put_row_blob("m", R"({"name":"m","created_at":"1700000000","x_unknown":{"a":1},"labels":{"b":"2","a":"1"},)"
                         R"("restart":{"policy":"always"},"network":true,"image":"alpine"})");
  auto ls = home.sim({"machine", "ls", "--json"});
  REQUIRE(ls.exit_code == 0);
  auto arr = nlohmann::json::parse(ls.out);
  REQUIRE(arr.size() == 1);
  CHECK(arr[0]["cpus"] == 1);          // serde default_cpus
  CHECK(arr[0]["memory_mib"] == 512);  // serde default_mem
  CHECK(arr[0]["created_at"] == 1700000000);
  CHECK(arr[0]["state"] == "created");
  CHECK(arr[0]["restart_policy"] == "always");

  REQUIRE(home.sim({"machine", "start", "--name", "m"}).exit_code == 0);
  REQUIRE(home.sim({"machine", "stop", "--name", "m"}).exit_code == 0);
  auto rec = home.row("m");
  CHECK_FALSE(rec.contains("x_unknown"));
  CHECK(rec["created_at"] == 1700000000);
  CHECK(rec["labels"].dump() == R"({"a":"1","b":"2"})");
  CHECK(rec["restart"].dump() ==
        R"({"policy":"always","max_retries":0,"max_backoff_secs":0,"restart_count":0,"user_stopped":false})");
  CHECK(rec["state"] == "stopped");
  CHECK(rec["init_completed"] == true);  // first boot of an image marks init done
  CHECK(home.row_type("m") == "blob");
}
