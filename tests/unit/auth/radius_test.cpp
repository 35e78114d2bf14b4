// RADIUS helpers that need no server: Class -> groups, 64-bit octets -> Octets + Gigawords,
// radcli server lists. The exchange itself is tested against freeradius (radius_interop.py).

#include "ocm/auth/radius.hpp"

#include <gtest/gtest.h>

namespace ocm::auth {
namespace {

using Groups = std::vector<std::string>;

TEST(RadiusClass, OuListNamesEveryGroup) { EXPECT_EQ(groups_from_class("OU=eng;ops"), (Groups{"eng", "ops"})); }

TEST(RadiusClass, PlainValueIsOneGroup) { EXPECT_EQ(groups_from_class("engineers"), (Groups{"engineers"})); }

TEST(RadiusClass, EmptyAndDuplicateEntriesAreSkipped) {
  EXPECT_EQ(groups_from_class("OU=;a;;a;b;"), (Groups{"a", "b"}));
  EXPECT_TRUE(groups_from_class("").empty());
  EXPECT_TRUE(groups_from_class("OU=").empty());
}

TEST(RadiusClass, NamesThatCannotBeFileNamesAreSkipped) {
  EXPECT_EQ(groups_from_class("OU=../etc;ok;a/b;.."), (Groups{"ok"}));
  EXPECT_TRUE(groups_from_class(std::string("bad\x01name")).empty());
  EXPECT_TRUE(groups_from_class(std::string(65, 'g')).empty());
  EXPECT_EQ(groups_from_class(std::string(64, 'g')).size(), 1u);
}

struct SplitCase {
  uint64_t value;
  uint32_t octets;
  uint32_t gigawords;
};

class RadiusSplit : public ::testing::TestWithParam<SplitCase> {};

TEST_P(RadiusSplit, LowWordAndWraps) {
  auto got = split_octets(GetParam().value);
  EXPECT_EQ(got.octets, GetParam().octets);
  EXPECT_EQ(got.gigawords, GetParam().gigawords);
}

INSTANTIATE_TEST_SUITE_P(Cases, RadiusSplit,
                         ::testing::Values(SplitCase{0, 0, 0}, SplitCase{0xffffffffULL, 0xffffffffU, 0},
                                           SplitCase{0x100000000ULL, 0, 1}, SplitCase{0x512345678ULL, 0x12345678U, 5},
                                           SplitCase{~0ULL, 0xffffffffU, 0xffffffffU}));

TEST(RadiusServers, AuthListWithSecret) {
  std::vector<config::RadiusServer> servers{{"127.0.0.1", 18120}, {"r2", 1812}};
  EXPECT_EQ(radcli_server_list(servers, {}, "s"), "127.0.0.1:18120:s,r2:1812:s");
}

TEST(RadiusServers, AccountingDefaultsToNextPort) {
  std::vector<config::RadiusServer> auth{{"127.0.0.1", 18120}};
  EXPECT_EQ(radcli_server_list({}, auth, "s"), "127.0.0.1:18121:s");
  std::vector<config::RadiusServer> acct{{"a", 999}};
  EXPECT_EQ(radcli_server_list(acct, auth, "s"), "a:999:s");
}

TEST(RadiusClient, MissingDictionaryFailsAtCreate) {
  config::RadiusConfig cfg;
  cfg.servers = {{"127.0.0.1", 1812}};
  cfg.secret = "s";
  cfg.dictionary = "/nonexistent/dictionary";
  auto client = RadiusClient::create(cfg);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("dictionary"), std::string::npos);
}

}  // namespace
}  // namespace ocm::auth
