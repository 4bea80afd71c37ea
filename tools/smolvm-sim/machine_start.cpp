// `machine start`: read the row once, refuse to double-start, take the per-VM lock, write the boot
// config from that one read, spawn the VM stand-in, then record running/pid/start time with a
// read-modify-write that touches nothing else (src/cli/vm_common.rs start_vm_named_with_db).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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

// record.vm_resources(), serialised as smolvm's VmResources.
json vm_resources(const VmRecord& r, const json& allowed_cidrs) {
  json res = json::object();
  res["cpus"] = r.get("cpus");
  res["memory_mib"] = r.get("mem");
  res["network"] = r.get("network");
  if (!r.get("network_backend").is_null()) res["network_backend"] = r.get("network_backend");
  res["gpu"] = r.get("gpu").is_boolean() && r.get("gpu").get<bool>();
  res["gpu_vram_mib"] = r.get("gpu_vram_mib");
  res["cuda"] = r.get("cuda");
  res["rosetta"] = r.get("rosetta").is_boolean() && r.get("rosetta").get<bool>();
  res["storage_gib"] = r.get("storage_gb");
  res["overlay_gib"] = r.get("overlay_gb");
  res["allowed_cidrs"] = allowed_cidrs;
  res["dns"] = r.get("dns");
  if (!r.get("network_name").is_null()) res["network_name"] = r.get("network_name");
  return res;
}

// BootConfig (src/agent/boot_config.rs) plus the machine name, which smolvm does not write.
json boot_config(const std::string& name, const VmFiles& f, const VmRecord& r, const json& resources) {
  auto gib = [&](const char* key, std::uint64_t dflt) {
    return r.get(key).is_null() ? dflt : r.get(key).get<std::uint64_t>();
  };
  json c = json::object();
  c["name"] = name;
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
  return c;
}

// RunningVmConfig, the config the CLI compares on the next start.
json running_config(const std::string& name, const json& resources) {
  json c = json::object();
  c["name"] = name;
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

  std::fprintf(stderr, "Starting machine '%s'...\n", name.c_str());
  const json resources = vm_resources(record, *policy);
  if (!write_file(files.boot_config, boot_config(name, files, record, resources).dump())) {
    return agent_error("start machine", agent_error("write boot config", "cannot write " + files.boot_config).display);
  }
  auto spawned = spawn_boot_vm(files.boot_config, kAgentReadyTimeout);
  if (!spawned) {
    unlink(files.agent_pid.c_str());
    return agent_error("start machine", spawned.error());
  }
  const pid_t pid = *spawned;
  const std::string tmp = files.agent_config + ".tmp";
  if (write_file(tmp, running_config(name, resources).dump())) rename(tmp.c_str(), files.agent_config.c_str());
  auto start_time = process_start_time(pid);
  write_file(files.agent_pid, std::to_string(pid) + (start_time ? "\n" + std::to_string(*start_time) : ""));

  const auto& image = record.get("image");
  if (!record.get("init_completed").get<bool>()) {
    if (image.is_string() && record.get("source_smolmachine").is_null() && !is_local_image(image.get<std::string>())) {
      std::fprintf(stderr, "Pulling %s...\n", image.get<std::string>().c_str());
    }
    if (!record.get("init").empty() || image.is_string()) {
      (void)db->update_vm(name, [](VmRecord& r) { r.set("init_completed", true); });
    }
  }
  std::printf("Machine '%s' running (PID: %d)\n", name.c_str(), pid);
  std::fflush(stdout);

  // Only state/pid/pid_start_time change: a patch made to the row during the start survives.
  // smolvm re-reads the start time here and only logs a failed write.
  auto final_start_time = process_start_time(pid);
  (void)db->update_vm(name, [&](VmRecord& r) {
    r.set("state", "running");
    r.set("pid", pid);
    r.set("pid_start_time", final_start_time ? json(*final_start_time) : json(nullptr));
  });
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
