// `machine start`, as smolvm 1.32.2 does it: read the row once, refuse to double-start, take the
// per-VM lock, write boot-config.json from that one read, spawn the VM (which deletes the file once
// parsed), write agent.config.json (tmp + rename) and agent.pid right after the spawn, wait for the
// agent, and only then record running/pid/start time with a read-modify-write that touches nothing
// else. A VM that dies before its agent answers fails the start and leaves the row alone.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include "tools/smolvm-sim/boot_vm.h"
#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_process.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

using json = nlohmann::ordered_json;

constexpr std::chrono::seconds kAgentReadyTimeout{30};
constexpr std::uint64_t kDefaultStorageGib = 20;
constexpr std::uint64_t kDefaultOverlayGib = 10;

Done start(const Machine& m, const ParsedArgs& a);

}  // namespace

const Subcommand kStart = {"Start a machine", {"smolvm machine start [OPTIONS]", {{"name", 'n', "NAME"}}, {}, false}, start};

namespace {

// Holds flock(vm.lock) for the whole start; released when the CLI exits, as in smolvm.
class VmLock {
 public:
  explicit VmLock(int fd) : fd_(fd) {}
  ~VmLock() {
    if (fd_ >= 0) close(fd_);
  }
  VmLock(const VmLock&) = delete;
  VmLock& operator=(const VmLock&) = delete;

 private:
  int fd_;
};

Expected<int, SimError> acquire_vm_lock(const VmFiles& files) {
  int fd = open(files.vm_lock.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return unexpected(agent_error("start machine", agent_error("acquire VM lock", os_error_text(errno)).display));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return unexpected(agent_error(
          "start machine", agent_error("start agent", "another process is already starting or running this VM").display));
    }
    return unexpected(agent_error("start machine", agent_error("acquire VM lock", os_error_text(err)).display));
  }
  return fd;
}

// platform::linux::check_kvm_available, only with SMOLVM_SIM_CHECK_KVM=1.
Done check_kvm() {
  if (access("/dev/kvm", F_OK) != 0) {
    return agent_error("start machine",
                       "kvm not available: KVM not available. Ensure KVM kernel module is loaded.\n"
                       "Try: sudo modprobe kvm && sudo modprobe kvm_intel  # (or kvm_amd)");
  }
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return std::nullopt;
  }
  if (errno == EACCES || errno == EPERM) {
    return agent_error("start machine",
                       "kvm permission denied: Cannot access /dev/kvm (permission denied).\n"
                       "Add your user to the 'kvm' group:\n\nsudo usermod -aG kvm $USER\n\n"
                       "Then log out and log back in for the change to take effect.");
  }
  return agent_error("start machine", "kvm not available: Failed to access /dev/kvm: " + os_error_text(errno));
}

// record.vm_resources(), serialised as smolvm 1.32.2's VmResources (the key order of the
// agent.config.json the real binary writes; the optional network keys are omitted when unset).
json vm_resources(const VmRecord& r, const json& allowed_cidrs) {
  json res = json::object();
  res["cpus"] = r.get("cpus");
  res["memory_mib"] = r.get("mem");
  res["network"] = r.get("network");
  if (!r.get("network_backend").is_null()) res["network_backend"] = r.get("network_backend");
  res["gpu"] = r.get("gpu").is_boolean() && r.get("gpu").get<bool>();
  res["gpu_vram_mib"] = r.get("gpu_vram_mib");
  res["cuda"] = r.get("cuda");
  res["nested_virt"] = r.get("nested_virt").is_boolean() && r.get("nested_virt").get<bool>();
  res["rosetta"] = r.get("rosetta").is_boolean() && r.get("rosetta").get<bool>();
  res["storage_gib"] = r.get("storage_gb");
  res["overlay_gib"] = r.get("overlay_gb");
  res["block_io"] = r.get("block_io");
  res["disk_durability"] = r.get("disk_durability");
  res["allowed_cidrs"] = allowed_cidrs;
  res["dns"] = r.get("dns");
  res["dns_options"] = json::array();
  res["shm_size"] = nullptr;
  if (!r.get("network_name").is_null()) res["network_name"] = r.get("network_name");
  return res;
}

// BootConfig (src/agent/boot_config.rs). The VM deletes it as soon as it has parsed it, so no
// reader ever sees it; only its path on the VM's command line stays.
json boot_config(const VmFiles& f, const VmRecord& r, const json& resources) {
  auto gib = [&](const char* key, std::uint64_t dflt) {
    return r.get(key).is_null() ? dflt : r.get(key).get<std::uint64_t>();
  };
  json c = json::object();
  c["rootfs_path"] = f.dir + "/rootfs";
  c["storage_disk_path"] = f.dir + "/storage.raw";
  c["overlay_disk_path"] = f.dir + "/overlay.raw";
  c["vsock_socket"] = f.agent_sock;
  c["console_log"] = f.dir + "/agent-console.log";
  c["startup_error_log"] = f.dir + "/agent-startup-error.log";
  c["storage_size_gb"] = gib("storage_gb", kDefaultStorageGib);
  c["overlay_size_gb"] = gib("overlay_gb", kDefaultOverlayGib);
  c["mounts"] = json::array();
  c["ports"] = json::array();
  c["resources"] = resources;
  c["ssh_agent_socket"] = nullptr;
  c["cuda"] = r.get("cuda");
  c["expose_docker"] = r.get("docker_socket");
  c["published_sockets"] = r.get("published_sockets");
  c["dns_filter_hosts"] = r.get("dns_filter_hosts");
  c["packed_layers_dir"] = nullptr;
  c["pack_idmap_source"] = nullptr;
  c["extra_disks"] = json::array();
  c["pod_netns"] = nullptr;
  c["workload_log"] = f.dir + "/workload.log";
  return c;
}

// RunningVmConfig: what the VMM was given, written by the CLI right after the spawn.
json running_config(const json& resources) {
  json c = json::object();
  c["version"] = 1;
  c["mounts"] = json::array();
  c["ports"] = json::array();
  c["resources"] = resources;
  c["forkable"] = false;
  return c;
}

bool write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  return static_cast<bool>(out);
}

Expected<json, SimError> effective_policy(const Machine& m, const VmRecord& record) {
  if (!m.knobs.force_policy) return record.get("allowed_cidrs");
  // SMOLVM_SIM_FORCE_POLICY: boot with another policy than the row's (the row is left alone).
  json forced = json::parse(*m.knobs.force_policy, nullptr, false);
  if (forced.is_discarded() || !(forced.is_null() || forced.is_array())) {
    return unexpected(agent_error("start machine", "SMOLVM_SIM_FORCE_POLICY is not a JSON list or null: " +
                                                       *m.knobs.force_policy));
  }
  return forced;
}

bool is_local_image(const std::string& image) {
  return image.rfind("local:", 0) == 0 || image.rfind("local-dir:", 0) == 0;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::uint64_t unix_ms_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}

std::string utc_timestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char micros[8];
  std::snprintf(micros, sizeof micros, "%06d", static_cast<int>((ts.tv_nsec / 1000) % 1000000));
  return std::string(buf) + "." + micros + "Z";
}

// What smolvm 1.32.2 does when the VM dies before its agent answers: a WARN log line for a signal
// death, vmm-exit.json in the data dir, agent.pid removed (agent.config.json stays), the row left
// alone, and an error naming how the boot process ended.
SimError boot_failure(const VmFiles& files, pid_t pid, const BootExit& died) {
  json exit = json::object();
  exit["pid"] = pid;
  exit["exited_at_unix_ms"] = unix_ms_now();
  if (died.signal != 0) {
    exit["cause"] = "killed";
    exit["signal"] = died.signal;
    exit["signal_name"] = signal_name(died.signal);
    // tracing's format, ANSI colours and all: 1.32.2 colours it on a pipe too.
    std::fprintf(stderr,
                 "\x1b[2m%s\x1b[0m \x1b[33m WARN\x1b[0m VMM killed by %s \x1b[3mpid\x1b[0m\x1b[2m=\x1b[0m%d "
                 "\x1b[3mcause\x1b[0m\x1b[2m=\x1b[0mKilled\n",
                 utc_timestamp().c_str(), signal_name(died.signal).c_str(), pid);
  } else {
    exit["cause"] = "exited";
    exit["exit_code"] = died.exit_code;
  }
  write_file(files.vmm_exit, exit.dump(2));
  unlink(files.agent_pid.c_str());
  if (died.timed_out) {
    return agent_error("start machine",
                       agent_error("wait for ready", "agent did not become ready within " +
                                                         std::to_string(kAgentReadyTimeout.count()) +
                                                         " seconds: no boot progress for " +
                                                         std::to_string(kAgentReadyTimeout.count()) + " seconds")
                           .display);
  }
  const std::string how =
      died.signal != 0
          ? "boot process was killed by " + signal_name(died.signal) + " (a crash in the VMM or a library it loaded)"
          : "boot process exited (code " + std::to_string(died.exit_code) + ") before the agent was ready";
  return agent_error("start machine", agent_error("monitor agent", how).display);
}

Done start(const Machine& m, const ParsedArgs& a) {
  const std::string name = a.one("name").value_or("default");
  auto db = m.open_db();
  if (!db) return db.error();
  auto got = db->get_vm(name);  // the one read: the policy booted is the one in this copy
  if (!got) return got.error();
  if (!got->has_value()) return vm_not_found(name);
  const VmRecord record = std::move(**got);

  if (resolve_state(record) == "running") {
    auto pid = record.pid();
    const std::string suffix = pid ? " (PID: " + std::to_string(*pid) + ")" : "";
    std::printf("Machine '%s' already running%s\n", name.c_str(), suffix.c_str());
    return std::nullopt;
  }
  if (m.knobs.fail_start) return agent_error("start machine", *m.knobs.fail_start);

  const VmFiles files = VmFiles::of(m.paths, name);
  kill_orphaned_boot_process(files, name);
  if (auto e = ensure_vm_dir(files, name)) return e;
  auto lock_fd = acquire_vm_lock(files);
  if (!lock_fd) return lock_fd.error();
  VmLock lock(*lock_fd);
  if (m.knobs.check_kvm) {
    if (auto e = check_kvm()) return e;
  }
  auto policy = effective_policy(m, record);
  if (!policy) return policy.error();

  std::fprintf(stderr, "Starting machine '%s'...", name.c_str());
  std::fflush(stderr);
  const json resources = vm_resources(record, *policy);
  if (!write_file(files.boot_config, boot_config(files, record, resources).dump())) {
    std::fputc('\n', stderr);
    return agent_error("start machine", agent_error("write boot config", "cannot write " + files.boot_config).display);
  }
  auto spawned = spawn_boot_vm(files.boot_config);
  if (!spawned) {
    std::fputc('\n', stderr);
    unlink(files.boot_config.c_str());
    return agent_error("start machine", spawned.error());
  }
  BootingVm vm = *spawned;
  // finalize_launch: the running config, then the pid file, before the readiness wait.
  const std::string tmp = files.agent_config + ".tmp";
  if (write_file(tmp, running_config(resources).dump())) rename(tmp.c_str(), files.agent_config.c_str());
  auto start_time = process_start_time(vm.pid);
  write_file(files.agent_pid, std::to_string(vm.pid) + (start_time ? "\n" + std::to_string(*start_time) : ""));

  if (auto died = wait_agent_ready(vm, kAgentReadyTimeout)) {
    std::fputc('\n', stderr);
    return boot_failure(files, vm.pid, *died);
  }
  std::fputc('\n', stderr);

  const auto& image = record.get("image");
  if (!record.get("init_completed").get<bool>()) {
    if (image.is_string() && record.get("source_smolmachine").is_null() && !is_local_image(image.get<std::string>())) {
      std::fprintf(stderr, "Pulling %s...\n", image.get<std::string>().c_str());
    }
    if (!record.get("init").empty() || image.is_string()) {
      (void)db->update_vm(name, [](VmRecord& r) { r.set("init_completed", true); });
    }
  }

  // Only state/pid/pid_start_time change: a patch made to the row during the start survives.
  // smolvm re-reads the start time here and only logs a failed write.
  auto final_start_time = process_start_time(vm.pid);
  (void)db->update_vm(name, [&](VmRecord& r) {
    r.set("state", "running");
    r.set("pid", vm.pid);
    r.set("pid_start_time", final_start_time ? json(*final_start_time) : json(nullptr));
  });
  std::printf("Machine '%s' running (PID: %d)\n", name.c_str(), vm.pid);
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
