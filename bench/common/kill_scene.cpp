#include "bench/common/kill_scene.h"

#include <cstdio>
#include <vector>

#include "bench/common/control.h"
#include "bench/common/samples.h"
#include "bench/common/wait.h"

namespace bs::bench {

std::optional<KillScene> start_kill_scene(const Options& opt, const std::string& config_toml,
                                          const std::string& stopped_bottle) {
  KillScene scene;
  scene.sandbox = start_sandbox(opt, config_toml,
                                {{"run-1", "image = \"alpine:3.20\"\n"},
                                 {stopped_bottle, "image = \"alpine:3.20\"\nstate = \"stopped\"\n"}});
  if (!scene.sandbox) return std::nullopt;
  bool up = wait_until(
      [&] {
        auto d = status(scene.sandbox->socket_path());
        if (!d) return false;
        scene.status = *d;
        const auto* r = find_bottle(scene.status, "run-1");
        const auto* s = find_bottle(scene.status, stopped_bottle);
        return r && s && running_verified(*r) && settled(*s) && (*s)["actual"] == "stopped";
      },
      std::chrono::seconds(60), std::chrono::milliseconds(5));
  if (!up) {
    std::fprintf(stderr, "error: the two bottles did not converge within 60 s; see %s\n",
                 scene.sandbox->daemon_log().c_str());
    return std::nullopt;
  }
  for (const auto& b : scene.status["bottles"]) {
    auto list = bs::parse_allowlist(b["allowlist"].get<std::vector<std::string>>());
    if (list) scene.desired[b["machine"].get<std::string>()] = *list;
  }
  return scene;
}

bool wait_kill_recorded(const Sandbox& sb, const std::string& bottle, std::uint64_t kills) {
  return wait_until(
      [&] {
        auto d = status(sb.socket_path(), {bottle});
        if (!d) return false;
        const auto* b = find_bottle(*d, bottle);
        return b && settled(*b) && (*d)["supervisor"]["counters"]["drift_kills"].get<std::uint64_t>() >= kills;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(1));
}

void print_clock_priority_note() {
  print_note(clock_priority_raised() ? "timestamp threads ran at SCHED_FIFO 1 (the daemon at normal priority)"
                                     : "timestamp threads at normal priority (no permission for SCHED_FIFO)");
}

}  // namespace bs::bench
