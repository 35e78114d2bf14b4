#include "script_runner.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace ocm::ctrl {
namespace {

// Each test runs real /bin/sh scripts from a private temp dir on its own loop.
class ScriptRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ocm-script-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(uv_loop_init(&loop_), 0);
  }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string script(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }
  std::optional<ScriptResult> run(const std::string& path, std::vector<std::string> env = {},
                                  std::chrono::seconds timeout = std::chrono::seconds(5)) {
    std::optional<ScriptResult> got;
    ScriptRunner runner(loop_);
    runner.run(path, env, timeout, [&](const ScriptResult& r) { got = r; });
    EXPECT_FALSE(got.has_value()) << "done must not run inside run()";
    EXPECT_EQ(runner.running(), 1u);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(runner.running(), 0u);
    return got;
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  uv_loop_t loop_{};
  std::string dir_;
};

TEST_F(ScriptRunnerTest, ExitZeroIsSuccess) {
  auto r = run(script("ok.sh", "exit 0"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->describe(), "exit status 0");
}

TEST_F(ScriptRunnerTest, NonZeroExitIsFailure) {
  auto r = run(script("fail.sh", "exit 3"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->kind, ScriptResult::Kind::kExited);
  EXPECT_EQ(r->code, 3);
}

TEST_F(ScriptRunnerTest, KilledBySignalIsFailure) {
  auto r = run(script("kill.sh", "kill -TERM $$"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ScriptResult::Kind::kSignaled);
  EXPECT_EQ(r->code, SIGTERM);
  EXPECT_FALSE(r->ok());
}

TEST_F(ScriptRunnerTest, TimeoutKillsTheScriptAndItsChildren) {
  std::string pidfile = dir_ + "/child.pid";
  auto start = std::chrono::steady_clock::now();
  auto r = run(script("slow.sh", "sleep 30 & echo $! > " + pidfile + "\nwait"), {}, std::chrono::seconds(1));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ScriptResult::Kind::kTimedOut);
  EXPECT_FALSE(r->ok());
  EXPECT_LT(took, std::chrono::seconds(5));
  // The script's `sleep` child was in its process group: it must be gone too (or a zombie
  // about to be reaped by init).
  pid_t child = std::atoi(read("child.pid").c_str());
  ASSERT_GT(child, 0);
  usleep(100 * 1000);
  std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
  std::string line;
  std::getline(stat, line);
  EXPECT_TRUE(line.empty() || line.find(") Z") != std::string::npos) << line;
}

TEST_F(ScriptRunnerTest, MissingScriptFailsToSpawn) {
  auto r = run(dir_ + "/absent.sh");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, ScriptResult::Kind::kSpawnFailed);
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->describe().find("cannot start"), std::string::npos);
}

TEST_F(ScriptRunnerTest, GetsExactlyTheGivenEnvironmentAndDevNullStdin) {
  std::string out = dir_ + "/env.txt";
  auto r = run(script("env.sh", "env | sort > " + out + "\nread line && echo got-input >> " + out + "\nexit 0"),
               {"PATH=/usr/bin:/bin", "REASON=connect", "USERNAME=alice"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  std::string text = read("env.txt");
  EXPECT_NE(text.find("REASON=connect\n"), std::string::npos) << text;
  EXPECT_NE(text.find("USERNAME=alice\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("got-input"), std::string::npos) << "stdin must be /dev/null";
  // Nothing of the test's own environment leaks in (HOME is set in any test environment).
  EXPECT_EQ(text.find("HOME="), std::string::npos) << text;
}

TEST_F(ScriptRunnerTest, CancelledJobDoesNotCallBack) {
  bool called = false;
  ScriptRunner runner(loop_);
  uint64_t job = runner.run(script("ok.sh", "exit 0"), {}, std::chrono::seconds(5),
                            [&](const ScriptResult&) { called = true; });
  EXPECT_NE(job, 0u);
  runner.cancel(job);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_FALSE(called);
  EXPECT_EQ(runner.running(), 0u);
}

TEST_F(ScriptRunnerTest, SeveralJobsRunConcurrently) {
  ScriptRunner runner(loop_);
  int done = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    runner.run(script("s" + std::to_string(i) + ".sh", "sleep 0.5"), {}, std::chrono::seconds(5),
               [&](const ScriptResult& r) {
                 EXPECT_TRUE(r.ok());
                 ++done;
               });
  }
  EXPECT_EQ(runner.running(), 4u);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(done, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1800));
}

}  // namespace
}  // namespace ocm::ctrl
