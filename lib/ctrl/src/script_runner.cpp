#include "script_runner.hpp"

#include <unistd.h>

#include <csignal>
#include <memory>

#include "ocm/base/log.hpp"

namespace ocm::ctrl {

struct ScriptRunner::Job {
  ScriptRunner* runner = nullptr;  // null once the runner is gone: finish silently
  uint64_t id = 0;
  std::string path;
  std::chrono::seconds timeout{};
  ScriptDone done;
  uv_process_t process{};
  uv_timer_t timer{};
  int open_handles = 0;
  bool timed_out = false;
  ScriptResult result;
};

std::string ScriptResult::describe() const {
  switch (kind) {
    case Kind::kExited:
      return "exit status " + std::to_string(code);
    case Kind::kSignaled:
      return "killed by signal " + std::to_string(code);
    case Kind::kTimedOut:
      return "timed out, killed";
    case Kind::kSpawnFailed:
      return std::string("cannot start: ") + uv_strerror(code);
  }
  return "?";
}

ScriptRunner::~ScriptRunner() {
  for (auto& [id, job] : jobs_) {
    job->runner = nullptr;
  }
}

uint64_t ScriptRunner::run(const std::string& path, const std::vector<std::string>& env,
                           std::chrono::seconds timeout, ScriptDone done) {
  auto* job = new Job;
  job->runner = this;
  job->id = next_id_++;
  job->path = path;
  job->timeout = timeout;
  job->done = std::move(done);
  jobs_.emplace(job->id, job);

  uv_timer_init(&loop_, &job->timer);
  job->timer.data = job;
  ++job->open_handles;

  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const auto& e : env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  char* args[] = {const_cast<char*>(path.c_str()), nullptr};
  // UV_IGNORE on fd 0 makes libuv open /dev/null for it; 1 and 2 share our stderr, which is
  // where the log goes (the journal under systemd).
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = STDERR_FILENO;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = STDERR_FILENO;
  uv_process_options_t opts{};
  opts.file = path.c_str();
  opts.args = args;
  opts.env = envp.data();
  opts.cwd = "/";
  opts.stdio = stdio;
  opts.stdio_count = 3;
  // Own session and process group: the timeout can kill everything the script started.
  opts.flags = UV_PROCESS_DETACHED;
  opts.exit_cb = [](uv_process_t* p, int64_t exit_status, int term_signal) {
    auto* j = static_cast<Job*>(p->data);
    if (j->timed_out) {
      j->result = {ScriptResult::Kind::kTimedOut, term_signal};
    } else if (term_signal != 0) {
      j->result = {ScriptResult::Kind::kSignaled, term_signal};
    } else {
      j->result = {ScriptResult::Kind::kExited, static_cast<int>(exit_status)};
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&j->timer), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(p), on_handle_closed);
  };
  job->process.data = job;
  int rc = uv_spawn(&loop_, &job->process, &opts);
  ++job->open_handles;  // libuv initialises the handle even when the spawn fails
  if (rc != 0) {
    job->result = {ScriptResult::Kind::kSpawnFailed, rc};
    uv_close(reinterpret_cast<uv_handle_t*>(&job->process), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&job->timer), on_handle_closed);
    return job->id;
  }
  uv_timer_start(&job->timer, [](uv_timer_t* t) {
    auto* j = static_cast<Job*>(t->data);
    j->timed_out = true;
    OCM_WARN("script %s (pid %d) exceeded its %llds timeout, killing it", j->path.c_str(), j->process.pid,
             static_cast<long long>(j->timeout.count()));
    // Negative pid: the whole process group the script leads (UV_PROCESS_DETACHED).
    if (::kill(-j->process.pid, SIGKILL) != 0) {
      uv_process_kill(&j->process, SIGKILL);
    }
  }, static_cast<uint64_t>(std::chrono::milliseconds(timeout).count()), 0);
  return job->id;
}

void ScriptRunner::cancel(uint64_t job) {
  if (auto it = jobs_.find(job); it != jobs_.end()) {
    it->second->done = nullptr;
  }
}

void ScriptRunner::on_handle_closed(uv_handle_t* handle) {
  auto* job = static_cast<Job*>(handle->data);
  if (--job->open_handles > 0) {
    return;
  }
  std::unique_ptr<Job> owned(job);
  if (job->runner != nullptr) {
    job->runner->finished(job);
  }
}

void ScriptRunner::finished(Job* job) {
  jobs_.erase(job->id);
  if (job->done) {
    job->done(job->result);
  }
}

}  // namespace ocm::ctrl
