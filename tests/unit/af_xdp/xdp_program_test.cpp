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
#include <vector>

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

// The classification itself, with the kernel's test runner (BPF_PROG_TEST_RUN): each frame lands
// in exactly one counter. No XSK is in the map, so a DTLS datagram for us counts as no_xsk.
struct ClassifyCase {
  const char* name;
  bool ipv6;
  uint32_t dst;  // IPv4, host order
  uint16_t port;
  int counter;
};

std::vector<uint8_t> udp_frame(const ClassifyCase& c) {
  std::vector<uint8_t> f(c.ipv6 ? 14 + 40 + 8 + 16 : 14 + 20 + 8 + 16, 0);
  f[12] = c.ipv6 ? 0x86 : 0x08;
  f[13] = c.ipv6 ? 0xdd : 0x00;
  uint8_t* l3 = f.data() + 14;
  uint8_t* udp = nullptr;
  if (c.ipv6) {
    l3[0] = 0x60;
    l3[5] = 8 + 16;  // payload length
    l3[6] = 17;      // next header UDP
    l3[7] = 64;
    udp = l3 + 40;
  } else {
    l3[0] = 0x45;
    l3[3] = 20 + 8 + 16;
    l3[8] = 64;
    l3[9] = 17;
    const uint32_t src = 0x0A000002;
    for (int i = 0; i < 4; ++i) {
      l3[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
      l3[16 + i] = static_cast<uint8_t>(c.dst >> (24 - 8 * i));
    }
    udp = l3 + 20;
  }
  udp[0] = 0xc0;
  udp[2] = static_cast<uint8_t>(c.port >> 8);
  udp[3] = static_cast<uint8_t>(c.port);
  udp[5] = 8 + 16;
  return f;
}

TEST_F(XdpProgramTest, SteersOnlyTheDtlsPortOfTheServerAddress) {
  constexpr uint32_t kServer = 0x0A000001;  // 10.0.0.1
  const ClassifyCase cases[] = {
      {"ours", false, kServer, 443, OCM_XDP_NO_XSK},
      {"other address of the host", false, 0x0A000009, 443, OCM_XDP_PASS_OTHER_ADDRESS},
      {"other port", false, kServer, 444, OCM_XDP_PASS_OTHER_PORT},
      {"ipv6 while bound to ipv4", true, 0, 443, OCM_XDP_PASS_OTHER_ADDRESS},
  };
  auto prog = XdpProgram::load(443, kServer);
  ASSERT_TRUE(prog) << prog.error().message;
  for (const auto& c : cases) {
    auto frame = udp_frame(c);
    XdpStats before = (*prog)->stats();
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.repeat = 1;
    ASSERT_EQ(bpf_prog_test_run_opts((*prog)->prog_fd(), &opts), 0) << c.name;
    EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_PASS)) << c.name;
    XdpStats after = (*prog)->stats();
    for (int i = 0; i < OCM_XDP_STAT_COUNT; ++i) {
      EXPECT_EQ(after[i] - before[i], i == c.counter ? 1u : 0u) << c.name << ": " << xdp_stat_name(i);
    }
  }
  // Bound to 0.0.0.0: every local address is ours.
  auto any = XdpProgram::load(443, 0);
  ASSERT_TRUE(any) << any.error().message;
  auto frame = udp_frame(cases[1]);
  XdpStats before = (*any)->stats();
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<uint32_t>(frame.size());
  ASSERT_EQ(bpf_prog_test_run_opts((*any)->prog_fd(), &opts), 0);
  EXPECT_EQ((*any)->stats()[OCM_XDP_NO_XSK] - before[OCM_XDP_NO_XSK], 1u);
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
