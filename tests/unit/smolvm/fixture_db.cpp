#include "fixture_db.h"

#include <filesystem>

namespace bs::test {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS vm_create_reservations (
    name TEXT PRIMARY KEY NOT NULL, owner_token TEXT NOT NULL,
    owner_pid INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fork_pools (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fork_pool_snapshots (golden TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS fork_pool_slots (
    machine_name TEXT PRIMARY KEY NOT NULL, pool_name TEXT NOT NULL,
    state TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS fork_pool_slots_pool_state ON fork_pool_slots(pool_name, state);
CREATE TABLE IF NOT EXISTS fork_leases (
    id TEXT PRIMARY KEY NOT NULL, pool_name TEXT NOT NULL, idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL, data BLOB NOT NULL, UNIQUE(pool_name, idempotency_key));
CREATE INDEX IF NOT EXISTS fork_leases_pool_state ON fork_leases(pool_name, state);
)sql";

// `path`, once its folder exists (smolvm creates its server folder before the DB).
const std::string& in_made_folder(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  return path;
}

}  // namespace

nlohmann::ordered_json smolvm_record(const std::string& name) {
  using J = nlohmann::ordered_json;
  J r;
  r["name"] = name;
  r["created_at"] = 1787000000;
  r["state"] = "created";
  r["pid"] = nullptr;
  r["pid_start_time"] = nullptr;
  r["cpus"] = 1;
  r["mem"] = 512;
  r["mounts"] = J::array();
  r["ports"] = J::array();
  r["published_sockets"] = J::array();
  r["network"] = true;
  r["gpu"] = nullptr;
  r["gpu_vram_mib"] = nullptr;
  r["rosetta"] = nullptr;
  r["restart"] = J{{"policy", "never"}, {"max_retries", 0}, {"max_backoff_secs", 0},
                   {"restart_count", 0}, {"user_stopped", false}};
  r["last_exit_code"] = nullptr;
  r["init"] = J::array();
  r["init_completed"] = false;
  r["remote_volumes"] = J::array();
  r["env"] = J::array();
  r["workdir"] = nullptr;
  r["storage_gb"] = nullptr;
  r["overlay_gb"] = nullptr;
  r["allowed_cidrs"] = J::array({"127.0.0.16/32"});
  r["image"] = "alpine:3.20";
  r["entrypoint"] = J::array();
  r["cmd"] = J::array();
  r["health_cmd"] = nullptr;
  r["health_interval_secs"] = nullptr;
  r["health_timeout_secs"] = nullptr;
  r["health_retries"] = nullptr;
  r["health_startup_grace_secs"] = nullptr;
  r["ssh_agent"] = false;
  r["cuda"] = false;
  r["docker_socket"] = false;
  r["ephemeral"] = false;
  r["runtime_managed"] = false;
  return r;
}

std::string smolvm_record_bytes(const std::string& name) { return smolvm_record(name).dump(); }

nlohmann::ordered_json smolvm_record_all_keys(const std::string& name) {
  using J = nlohmann::ordered_json;
  J base = smolvm_record(name);
  J extra = {
      {"secret_refs", J{{"API_KEY", J{{"from_env", "HOST_API_KEY"}}}}},
      {"user", "agent"},
      {"network_backend", "virtio-net"},
      {"dns", "1.1.1.1"},
      {"network_name", "bottles"},
      {"labels", J{{"owner", "bottle-supervisor"}}},
      {"forkable", true},
      {"cuda_fork_pool_size", 2},
      {"cuda_vram_limit_mib", 1024},
      {"cuda_preload_modules", true},
      {"dns_filter_hosts", J::array({"example.com"})},
      {"source_smolmachine", "/abs/agent.smolmachine"},
      {"golden", "base-vm"},
      {"forkpoint_held", true},
      {"fork_env", J::array({J::array({"K", "V"})})},
  };
  // Reference §1.5 declaration order; each optional key goes right after its predecessor.
  const char* order[] = {
      "name", "created_at", "state", "pid", "pid_start_time", "cpus", "mem", "mounts", "ports",
      "published_sockets", "network", "gpu", "gpu_vram_mib", "rosetta", "restart",
      "last_exit_code", "init", "init_completed", "remote_volumes", "env", "secret_refs",
      "workdir", "user", "storage_gb", "overlay_gb", "allowed_cidrs", "network_backend", "dns",
      "network_name", "image", "entrypoint", "cmd", "labels", "health_cmd",
      "health_interval_secs", "health_timeout_secs", "health_retries",
      "health_startup_grace_secs", "ssh_agent", "cuda", "forkable", "cuda_fork_pool_size",
      "cuda_vram_limit_mib", "cuda_preload_modules", "docker_socket", "dns_filter_hosts",
      "ephemeral", "source_smolmachine", "golden", "forkpoint_held", "fork_env",
      "runtime_managed"};
  J r = J::object();
  for (const char* key : order) r[key] = base.contains(key) ? base[key] : extra.at(key);
  return r;
}

FixtureDb::FixtureDb(const std::string& path, bool with_schema)
    : db_(in_made_folder(path), SqliteDb::Mode::Create, kSmolvmBusyTimeoutMs) {
  if (with_schema) {
    db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    db_.exec(kSchema);
  }
}

std::optional<std::string> FixtureDb::data(const std::string& name) {
  auto row = rows_.row(name);
  if (!row) return std::nullopt;
  return row->data;
}

std::string FixtureDb::type_of_data(const std::string& name) {
  const std::string type = rows_.type_of(name);
  return type.empty() ? "(no row)" : type;
}

}  // namespace bs::test
