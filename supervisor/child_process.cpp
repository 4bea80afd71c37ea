#include "supervisor/child_process.h"

#include <cstring>
#include <signal.h>

#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"

extern char** environ;

namespace bs::supervisor {

struct CommandRunner::Job {
  CommandRunner* owner = nullptr;
  Done done;
  CommandResult result;
  uv_process_t* process = nullptr;  // closed and freed in its close callback
  UvHandle<uv_pipe_t> out, err;
  std::unique_ptr<Timer> timer;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  int open_streams = 0;
  bool exited = false;

  void maybe_finish() {
    if (exited && open_streams == 0) owner->finished(this);
  }
};

namespace {

void on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) {
  buf->base = new char[suggested];
  buf->len = suggested;
}

// Output beyond this is dropped: smolvm's messages are short, and a runaway child must not
// grow the daemon.
constexpr std::size_t kMaxOutput = 256 * 1024;

template <bool IsErr>
void on_read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
  auto* job = static_cast<CommandRunner::Job*>(stream->data);
  if (job != nullptr && n > 0) {
    std::string& sink = IsErr ? job->result.err : job->result.out;
    std::size_t room = kMaxOutput > sink.size() ? kMaxOutput - sink.size() : 0;
    sink.append(buf->base, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
  }
  delete[] buf->base;
  if (job != nullptr && n < 0) {
    uv_read_stop(stream);
    --job->open_streams;
    job->maybe_finish();
  }
}

}  // namespace

void CommandRunner::JobDeleter::operator()(Job* j) const { delete j; }

CommandRunner::~CommandRunner() { abandon_all(); }

std::set<std::int64_t> CommandRunner::child_pids() const {
  std::set<std::int64_t> pids;
  for (const auto& [job, _] : jobs_) {
    if (job->process != nullptr) pids.insert(job->process->pid);
  }
  return pids;
}

void CommandRunner::abandon_all() {
  for (auto& [raw, job] : jobs_) {
    if (job->process != nullptr) {
      job->process->data = nullptr;
      if (!job->exited) uv_process_kill(job->process, SIGKILL);
      uv_close(reinterpret_cast<uv_handle_t*>(job->process),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
      job->process = nullptr;
    }
  }
  jobs_.clear();
}

void CommandRunner::run(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& extra_env,
                        std::chrono::milliseconds timeout, Done done,
                        const std::function<bool(std::string_view name)>& drop) {
  std::unique_ptr<Job, JobDeleter> owned(new Job);
  Job* job = owned.get();
  job->owner = this;
  job->done = std::move(done);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && extra_env.count(kv.substr(0, eq)) != 0) continue;
    if (eq != std::string::npos && drop && drop(std::string_view(kv).substr(0, eq))) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  job->out = UvHandle<uv_pipe_t>(new uv_pipe_t);
  job->err = UvHandle<uv_pipe_t>(new uv_pipe_t);
  uv_pipe_init(loop_, job->out.get(), 0);
  uv_pipe_init(loop_, job->err.get(), 0);
  job->out.get()->data = job;
  job->err.get()->data = job;

  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;  // no terminal: smolvm's prompts see EOF
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(job->out.get());
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(job->err.get());

  uv_process_options_t opts;
  std::memset(&opts, 0, sizeof opts);
  opts.file = args[0];
  opts.args = args.data();
  opts.env = envp.data();
  opts.stdio = stdio;
  opts.stdio_count = 3;
  opts.exit_cb = [](uv_process_t* p, int64_t status, int sig) {
    auto* j = static_cast<Job*>(p->data);
    if (j == nullptr) return;
    j->exited = true;
    j->result.exit_code = sig != 0 ? -1 : static_cast<int>(status);
    j->result.term_signal = sig;
    if (j->timer) j->timer->stop();
    j->maybe_finish();
  };

  job->process = new uv_process_t;
  job->process->data = job;
  int rc = uv_spawn(loop_, job->process, &opts);
  jobs_.emplace(job, std::move(owned));
  if (rc != 0) {
    job->result.spawn_error = std::string("cannot run ") + argv[0] + ": " + uv_strerror(rc);
    job->exited = true;
    // Reported from the loop, not from inside run(), so callers never see re-entrant callbacks.
    // (uv_spawn initialised the process handle even on failure; finished() closes it.)
    job->timer = std::make_unique<Timer>(loop_);
    job->timer->start(std::chrono::milliseconds(0), [job] { job->maybe_finish(); });
    return;
  }
  job->open_streams = 2;
  uv_read_start(reinterpret_cast<uv_stream_t*>(job->out.get()), on_alloc, on_read<false>);
  uv_read_start(reinterpret_cast<uv_stream_t*>(job->err.get()), on_alloc, on_read<true>);
  job->timer = std::make_unique<Timer>(loop_);
  job->timer->start(timeout, [job] {
    if (job->exited || job->process == nullptr) return;
    job->result.timed_out = true;
    uv_process_kill(job->process, SIGKILL);  // a pid we started
  });
}

void CommandRunner::finished(Job* job) {
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return;
  std::unique_ptr<Job, JobDeleter> owned = std::move(it->second);
  jobs_.erase(it);
  owned->result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - owned->started);
  if (owned->process != nullptr) {
    owned->process->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(owned->process),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
    owned->process = nullptr;
  }
  Done done = std::move(owned->done);
  CommandResult result = std::move(owned->result);
  owned.reset();
  if (done) done(std::move(result));
}

}  // namespace bs::supervisor
