// What a RADIUS Access-Accept does to a tunnel's settings, and how tunnel end reasons map to
// Acct-Terminate-Cause. The exchange with a server is in tests/interop/radius_interop.py.

#include "radius_session.hpp"

#include <gtest/gtest.h>

namespace ocm::ctrl {
namespace {

using auth::TerminateCause;

auto in_pool = [](uint32_t a) { return (a >> 8) == 0xC0A864; };  // 192.168.100.0/24

TEST(RadiusAttributes, FramedIpInPoolBecomesExplicitAddress) {
  auth::RadiusAuthOutcome accept;
  accept.framed_ipv4 = 0xC0A86432;  // 192.168.100.50
  config::UserConfig uc;
  apply_radius_attributes(accept, uc, in_pool);
  ASSERT_TRUE(uc.explicit_ipv4);
  EXPECT_EQ(*uc.explicit_ipv4, 0xC0A86432u);
}

TEST(RadiusAttributes, FramedIpOutsidePoolIsIgnored) {
  auth::RadiusAuthOutcome accept;
  accept.framed_ipv4 = 0x0A000001;
  config::UserConfig uc;
  apply_radius_attributes(accept, uc, in_pool);
  EXPECT_FALSE(uc.explicit_ipv4);
}

TEST(RadiusAttributes, PerUserFileWinsOverRadius) {
  auth::RadiusAuthOutcome accept;
  accept.framed_ipv4 = 0xC0A86432;
  accept.session_timeout_s = 100;
  accept.idle_timeout_s = 50;
  config::UserConfig uc;
  uc.explicit_ipv4 = 0xC0A86433;
  uc.idle_timeout = std::chrono::seconds(7);
  apply_radius_attributes(accept, uc, in_pool);
  EXPECT_EQ(*uc.explicit_ipv4, 0xC0A86433u);
  EXPECT_EQ(uc.idle_timeout->count(), 7);
  ASSERT_TRUE(uc.session_timeout);
  EXPECT_EQ(uc.session_timeout->count(), 100);
}

TEST(RadiusAttributes, ZeroTimeoutsMeanNone) {
  auth::RadiusAuthOutcome accept;
  config::UserConfig uc;
  apply_radius_attributes(accept, uc, in_pool);
  EXPECT_FALSE(uc.session_timeout);
  EXPECT_FALSE(uc.idle_timeout);
  EXPECT_FALSE(uc.explicit_ipv4);
}

struct CauseCase {
  const char* reason;
  TerminateCause want;
};
class RadiusTerminateCause : public ::testing::TestWithParam<CauseCase> {};

TEST_P(RadiusTerminateCause, Maps) { EXPECT_EQ(terminate_cause_for(GetParam().reason), GetParam().want); }

INSTANTIATE_TEST_SUITE_P(
    Cases, RadiusTerminateCause,
    ::testing::Values(CauseCase{"client logged out", TerminateCause::kUserRequest},
                      CauseCase{"client logged out (DTLS)", TerminateCause::kUserRequest},
                      CauseCase{"idle timeout", TerminateCause::kIdleTimeout},
                      CauseCase{"session timeout", TerminateCause::kSessionTimeout},
                      CauseCase{"terminated by the administrator", TerminateCause::kAdminReset},
                      CauseCase{"disconnected by the administrator", TerminateCause::kAdminReset},
                      CauseCase{"server shutting down", TerminateCause::kNasRequest},
                      CauseCase{"DPD timeout", TerminateCause::kLostCarrier},
                      CauseCase{"peer sent close_notify", TerminateCause::kLostCarrier}));

}  // namespace
}  // namespace ocm::ctrl
