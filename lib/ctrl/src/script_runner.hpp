#pragma once
// Runs connect/disconnect scripts as child processes on the libuv loop (uv_spawn): the loop
// never waits for a script. stdin is /dev/null, stdout and stderr go to our stderr (the log).
// A script that outlives its timeout is killed with its whole process group (it runs in its
// own session, so `sleep` children of a shell script go too).

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ocm::ctrl {

struct ScriptResult {
  enum class Kind { kExited, kSignaled, kTimedOut, kSpawnFailed };
  Kind kind = Kind::kExited;
  int code = 0;  // exit status, signal number, or libuv error code (kSpawnFailed)

  [[nodiscard]] bool ok() const { return kind == Kind::kExited && code == 0; }
  // "exit status 3", "killed by signal 9", "timed out after 10 s", "cannot start: ..."
  [[nodiscard]] std::string describe() const;
};

// Called on the loop once the process is gone and its handles are closed.
using ScriptDone = std::function<void(const ScriptResult&)>;

class ScriptRunner {
 public:
  explicit ScriptRunner(uv_loop_t& loop) : loop_(loop) {}
  ~ScriptRunner();
  ScriptRunner(const ScriptRunner&) = delete;
  ScriptRunner& operator=(const ScriptRunner&) = delete;

  // Starts `path` with exactly `env` ("NAME=value"). Returns a job id (never 0) for cancel().
  // `done` always runs later on the loop, never from inside run().
  uint64_t run(const std::string& path, const std::vector<std::string>& env, std::chrono::seconds timeout,
               ScriptDone done);
  // The job's `done` will not be called (its owner went away); the script itself still runs to
  // its end or its timeout, since killing it halfway could leave its own work half done.
  void cancel(uint64_t job);
  [[nodiscard]] size_t running() const { return jobs_.size(); }

 private:
  struct Job;
  static void on_handle_closed(uv_handle_t* handle);  // frees the job after its last handle
  void finished(Job* job);

  uv_loop_t& loop_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Job*> jobs_;  // owned by themselves until their handles close
};

}  // namespace ocm::ctrl
