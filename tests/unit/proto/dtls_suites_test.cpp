// DTLS mode / legacy suite selection from the CONNECT headers (protocol.md §3.2, §5.3).
#include "ocm/proto/dtls_suites.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <string>
#include <vector>

namespace ocm::proto {
namespace {

// openconnect 9.01's lists on Debian (protocol.md §3.1).
constexpr const char* kOcDtls =
    "PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC2-DTLS1_2-CHACHA20-POLY1305:OC-DTLS1_2-AES128-GCM:DHE-RSA-AES256-SHA:"
    "DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA";
constexpr const char* kOcDtls12 =
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256:DHE-RSA-AES256-SHA:"
    "DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA";

DtlsPolicy policy(bool psk, bool legacy, bool prefer_legacy = false, bool dtls09 = false,
                  TlsBulk bulk = TlsBulk::kOther) {
  DtlsPolicy p;
  p.allow_psk = psk;
  p.allow_legacy = legacy;
  p.prefer_legacy = prefer_legacy;
  p.allow_dtls0_9 = dtls09;
  p.tls_bulk = bulk;
  return p;
}

struct ChooseCase {
  const char* name;
  std::string dtls;
  std::string dtls12;
  bool master_secret;
  DtlsPolicy policy;
  DtlsMode mode;
  DtlsLegacySuite suite = DtlsLegacySuite::kAes128Gcm;
  bool from_dtls12 = false;
  std::string reply;
};

std::vector<ChooseCase> cases() {
  using S = DtlsLegacySuite;
  return {
      {"OpenconnectDefaultIsPsk", kOcDtls, kOcDtls12, true, policy(true, true), DtlsMode::kPsk, S::kAes128Gcm, false,
       "PSK-NEGOTIATE"},
      {"OpenconnectPreferLegacyTakesDtls12Aes256", kOcDtls, kOcDtls12, true, policy(true, true, true),
       DtlsMode::kLegacy, S::kAes256Gcm, true, "AES256-GCM-SHA384"},
      {"OpenconnectPskDisabled", kOcDtls, kOcDtls12, true, policy(false, true), DtlsMode::kLegacy, S::kAes256Gcm, true,
       "AES256-GCM-SHA384"},
      {"PreferLegacyWithoutMasterSecretFallsBackToPsk", kOcDtls, kOcDtls12, false, policy(true, true, true),
       DtlsMode::kPsk, S::kAes128Gcm, false, "PSK-NEGOTIATE"},
      {"NoMasterSecretNoPsk", "OC-DTLS1_2-AES128-GCM", "", false, policy(true, true), DtlsMode::kNone},
      {"LegacyDisabledNoPsk", "OC-DTLS1_2-AES128-GCM", "AES128-GCM-SHA256", true, policy(true, false), DtlsMode::kNone},
      {"PskOnlyInDtls12List", "", "PSK-NEGOTIATE", false, policy(true, true), DtlsMode::kPsk, S::kAes128Gcm, false,
       "PSK-NEGOTIATE"},
      {"PskMustBeAWholeToken", "XPSK-NEGOTIATE:PSK-NEGOTIATEX", "", false, policy(true, true), DtlsMode::kNone},
      {"DtlsCiphersOptionAes128", "OC-DTLS1_2-AES128-GCM", "", true, policy(true, true), DtlsMode::kLegacy,
       S::kAes128Gcm, false, "OC-DTLS1_2-AES128-GCM"},
      {"ServerPriorityNotClientOrder", "OC-DTLS1_2-AES128-GCM:OC-DTLS1_2-AES256-GCM", "", true, policy(true, true),
       DtlsMode::kLegacy, S::kAes256Gcm, false, "OC-DTLS1_2-AES256-GCM"},
      {"TlsSessionCipherTakenAtOnce", "OC-DTLS1_2-AES128-GCM:OC-DTLS1_2-AES256-GCM", "", true,
       policy(true, true, false, false, TlsBulk::kAes128Gcm), DtlsMode::kLegacy, S::kAes128Gcm, false,
       "OC-DTLS1_2-AES128-GCM"},
      {"Dtls12MatchOverridesDtlsMatch", "OC-DTLS1_2-AES256-GCM", "AES128-GCM-SHA256", true, policy(true, true),
       DtlsMode::kLegacy, S::kAes128Gcm, true, "AES128-GCM-SHA256"},
      {"AnyConnectDtls12", "", "ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256", true, policy(true, true),
       DtlsMode::kLegacy, S::kAes128Gcm, true, "AES128-GCM-SHA256"},
      {"Dtls12PriorityAes256Over128", "", "AES128-GCM-SHA256:AES256-GCM-SHA384", true, policy(true, true),
       DtlsMode::kLegacy, S::kAes256Gcm, true, "AES256-GCM-SHA384"},
      {"UnknownNamesIgnored", "OC2-DTLS1_2-CHACHA20-POLY1305:DHE-RSA-AES256-SHA", "ECDHE-RSA-AES128-GCM-SHA256", true,
       policy(true, true), DtlsMode::kNone},
      {"Dtls09SkippedByDefault", "AES256-SHA:AES128-SHA:DES-CBC3-SHA", "", true, policy(true, true), DtlsMode::kNone},
      {"Dtls09WhenAllowed", "AES128-SHA:DES-CBC3-SHA:AES256-SHA", "", true, policy(true, true, false, true),
       DtlsMode::kLegacy, S::kAes256Cbc, false, "AES256-SHA"},
      {"Dtls09LosesToGcm", "AES256-SHA:OC-DTLS1_2-AES128-GCM", "", true, policy(true, true, false, true),
       DtlsMode::kLegacy, S::kAes128Gcm, false, "OC-DTLS1_2-AES128-GCM"},
      {"Dtls12NamesNotAcceptedInDtlsList", "AES128-GCM-SHA256", "", true, policy(true, true), DtlsMode::kNone},
      {"DtlsNamesNotAcceptedInDtls12List", "", "OC-DTLS1_2-AES128-GCM", true, policy(true, true), DtlsMode::kNone},
      {"SpacesAroundTokens", " OC-DTLS1_2-AES128-GCM : PSK-NEGOTIATE ", "", true, policy(false, true),
       DtlsMode::kLegacy, S::kAes128Gcm, false, "OC-DTLS1_2-AES128-GCM"},
      {"EmptyTokens", "::OC-DTLS1_2-AES128-GCM::", "", true, policy(true, true), DtlsMode::kLegacy, S::kAes128Gcm,
       false, "OC-DTLS1_2-AES128-GCM"},
      {"NothingSent", "", "", false, policy(true, true), DtlsMode::kNone},
  };
}

class ChooseDtlsTest : public ::testing::TestWithParam<ChooseCase> {};

TEST_P(ChooseDtlsTest, Chooses) {
  const ChooseCase& c = GetParam();
  DtlsChoice got = choose_dtls(c.dtls, c.dtls12, c.master_secret, c.policy);
  ASSERT_EQ(got.mode, c.mode);
  EXPECT_EQ(std::string(got.reply_name), c.reply);
  if (c.mode == DtlsMode::kLegacy) {
    EXPECT_EQ(got.suite, c.suite);
    EXPECT_EQ(got.from_dtls12, c.from_dtls12);
  }
}

INSTANTIATE_TEST_SUITE_P(Headers, ChooseDtlsTest, ::testing::ValuesIn(cases()), case_name<ChooseCase>);

TEST(DtlsSuites, NamesAndIds) {
  EXPECT_EQ(dtls_suite_name(DtlsLegacySuite::kAes128Gcm, false), "OC-DTLS1_2-AES128-GCM");
  EXPECT_EQ(dtls_suite_name(DtlsLegacySuite::kAes128Gcm, true), "AES128-GCM-SHA256");
  EXPECT_EQ(dtls_suite_name(DtlsLegacySuite::kAes256Gcm, false), "OC-DTLS1_2-AES256-GCM");
  EXPECT_EQ(dtls_suite_name(DtlsLegacySuite::kAes256Gcm, true), "AES256-GCM-SHA384");
  EXPECT_EQ(dtls_suite_name(DtlsLegacySuite::kAes128Cbc, true), "AES128-SHA");
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes128Gcm).id, 0x009c);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes256Gcm).id, 0x009d);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes256Cbc).id, 0x0035);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes128Cbc).id, 0x002f);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kDes3Cbc).id, 0x000a);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes128Gcm).version, 0xfefd);
  EXPECT_EQ(dtls_legacy_suite_info(DtlsLegacySuite::kAes128Cbc).version, 0x0100);
  for (auto s : {DtlsLegacySuite::kAes128Gcm, DtlsLegacySuite::kAes256Gcm, DtlsLegacySuite::kAes256Cbc,
                 DtlsLegacySuite::kAes128Cbc, DtlsLegacySuite::kDes3Cbc}) {
    EXPECT_EQ(dtls_legacy_suite_info(s).suite, s);
  }
}

}  // namespace
}  // namespace ocm::proto
