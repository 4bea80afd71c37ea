// A per-bottle work queue with client-go semantics: keys are deduplicated, a key is never
// processed twice at once (an add while it is processed marks it dirty and it runs again
// after done()), and failures back off per key, reset on success; a failed step's backoff is not
// cut short by adds made while it ran (done_failed).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"

namespace bs::supervisor {

class WorkQueue {
 public:
  using Handler = std::function<void(const std::string& key)>;  // must call done(key) later

  WorkQueue(TimeSource& time, Handler handler);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  // Failure: runs the key again after its backoff (initial, doubled per failure, capped).
  std::chrono::milliseconds add_rate_limited(const std::string& key);
  void forget(const std::string& key);  // success: reset the key's backoff
  void done(const std::string& key);
  // The key's step failed: done, and it runs again after its backoff (add_rate_limited), not
  // sooner because of adds made while the step ran. Those adds are what the retry re-reads
  // anyway, and the step's own commands cause some of them (a failing start writes the row, a VM
  // killed while its start runs): honouring them would make every such failure an immediate
  // retry, a hot loop. An add after the failure still supersedes the backoff (a spec edit).
  std::chrono::milliseconds done_failed(const std::string& key);

  void set_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  bool processing(const std::string& key) const { return processing_.count(key) != 0; }
  bool idle() const { return queue_.empty() && processing_.empty(); }
  std::size_t delayed() const { return delayed_.size(); }
  // When the key is scheduled by add_after / add_rate_limited; nullopt when it is not.
  std::optional<TimePoint> scheduled(const std::string& key) const;
  int failures(const std::string& key) const;

 private:
  void schedule_drain();
  void drain();

  TimeSource& time_;
  Handler handler_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_, processing_, dirty_;
  std::map<std::string, std::unique_ptr<Timer>> delayed_;
  std::map<std::string, TimePoint> due_;
  std::map<std::string, int> failures_;
  Timer drain_timer_;
  std::chrono::milliseconds initial_{1000}, max_{300000};
};

}  // namespace bs::supervisor
