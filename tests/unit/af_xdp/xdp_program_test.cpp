// XdpProgram against the real kernel: needs root (skipped otherwise). The process first moves
// into a private network namespace, so the veth pair it creates is invisible to the host and
// vanishes with the process.

#include "xdp_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace ocm::af_xdp {
namespace {

constexpr const char* kDev = "ocmxt0";

class XdpProgramTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      return;
    }
    netns_ok_ = ::unshare(CLONE_NEWNET) == 0 &&
                std::system("ip link add ocmxt0 type veth peer name ocmxt1 && ip link set ocmxt0 up && "
                            "ip link set ocmxt1 up") == 0;
  }
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (BPF program load, XDP attach)";
    }
    ASSERT_TRUE(netns_ok_) << "could not create a network namespace with a veth pair";
  }

  static uint32_t attached_id(uint32_t flags) {
    uint32_t id = 0;
    bpf_xdp_query_id(static_cast<int>(if_nametoindex(kDev)), static_cast<int>(flags), &id);
    return id;
  }
  static uint32_t id_of(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    EXPECT_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
    return info.id;
  }

  static bool netns_ok_;
};
bool XdpProgramTest::netns_ok_ = false;

TEST_F(XdpProgramTest, EmbeddedProgramPassesTheVerifier) {
  auto prog = XdpProgram::load(443);
  ASSERT_TRUE(prog) << prog.error().message;
  int fd = (*prog)->prog_fd();
  ASSERT_GE(fd, 0);
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  EXPECT_STREQ(info.name, OCM_XDP_PROG_NAME);
  EXPECT_EQ(info.type, BPF_PROG_TYPE_XDP);
  EXPECT_GE((*prog)->xsks_map_fd(), 0);
  XdpStats zero{};
  EXPECT_EQ((*prog)->stats(), zero);
}

TEST_F(XdpProgramTest, AttachesInBothModesAndDetachesOnDestruction) {
  for (auto [choice, want, flag] : {std::tuple{XdpModeChoice::kNative, XdpAttachMode::kNative, XDP_FLAGS_DRV_MODE},
                                    std::tuple{XdpModeChoice::kGeneric, XdpAttachMode::kGeneric, XDP_FLAGS_SKB_MODE}}) {
    {
      auto prog = XdpProgram::load(443);
      ASSERT_TRUE(prog) << prog.error().message;
      auto mode = (*prog)->attach(kDev, choice);
      ASSERT_TRUE(mode) << mode.error().message;
      EXPECT_EQ(*mode, want);
      EXPECT_EQ(attached_id(flag), id_of((*prog)->prog_fd()));
    }
    EXPECT_EQ(attached_id(XDP_FLAGS_DRV_MODE), 0u);
    EXPECT_EQ(attached_id(XDP_FLAGS_SKB_MODE), 0u);
  }
}

TEST_F(XdpProgramTest, ReplacesItsOwnStaleProgram) {
  // The first instance stands for a server that died without detaching.
  auto stale = XdpProgram::load(443);
  ASSERT_TRUE(stale);
  ASSERT_TRUE((*stale)->attach(kDev, XdpModeChoice::kGeneric));
  auto fresh = XdpProgram::load(443);
  ASSERT_TRUE(fresh);
  auto mode = (*fresh)->attach(kDev, XdpModeChoice::kAuto);
  ASSERT_TRUE(mode) << mode.error().message;
  uint32_t flag = *mode == XdpAttachMode::kNative ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  EXPECT_EQ(attached_id(flag), id_of((*fresh)->prog_fd()));
  EXPECT_EQ(attached_id(XDP_FLAGS_SKB_MODE == flag ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE), 0u);
  // The stale instance must not remove the program that replaced it.
  stale->reset();
  EXPECT_EQ(attached_id(flag), id_of((*fresh)->prog_fd()));
}

TEST_F(XdpProgramTest, RefusesAForeignProgram) {
  // "r0 = XDP_PASS; exit", under another name.
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  int foreign = bpf_prog_load(BPF_PROG_TYPE_XDP, "someone_else", "GPL", insns, 2, nullptr);
  ASSERT_GE(foreign, 0);
  int ifindex = static_cast<int>(if_nametoindex(kDev));
  ASSERT_EQ(bpf_xdp_attach(ifindex, foreign, XDP_FLAGS_SKB_MODE, nullptr), 0);
  auto prog = XdpProgram::load(443);
  ASSERT_TRUE(prog);
  auto mode = (*prog)->attach(kDev, XdpModeChoice::kAuto);
  ASSERT_FALSE(mode);
  EXPECT_NE(mode.error().message.find("someone_else"), std::string::npos) << mode.error().message;
  EXPECT_EQ(attached_id(XDP_FLAGS_SKB_MODE), id_of(foreign));
  bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, nullptr);
  ::close(foreign);
}

TEST_F(XdpProgramTest, MissingInterfaceIsAClearError) {
  auto prog = XdpProgram::load(443);
  ASSERT_TRUE(prog);
  auto mode = (*prog)->attach("ocm-nonexistent", XdpModeChoice::kAuto);
  ASSERT_FALSE(mode);
  EXPECT_NE(mode.error().message.find("does not exist"), std::string::npos) << mode.error().message;
}

}  // namespace
}  // namespace ocm::af_xdp
