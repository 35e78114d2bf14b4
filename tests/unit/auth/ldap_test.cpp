#include "ocm/auth/ldap.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace ocm::auth {
namespace {

using namespace std::string_literals;

struct EscapeCase {
  const char* name;
  std::string input;
  std::string filter;  // RFC 4515
  std::string dn;      // RFC 4514
};

class LdapEscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(LdapEscapeTest, FilterAndDn) {
  const EscapeCase& c = GetParam();
  EXPECT_EQ(detail::escape_filter_value(c.input), c.filter);
  EXPECT_EQ(detail::escape_dn_value(c.input), c.dn);
}

INSTANTIATE_TEST_SUITE_P(Table, LdapEscapeTest,
                         ::testing::Values(
                             /* 1 */ EscapeCase{"Plain", "alice", "alice", "alice"},
                             /* 2 */ EscapeCase{"Empty", "", "", ""},
                             // The classic filter injections: a wildcard matches every entry, parentheses add terms.
                             /* 3 */ EscapeCase{"Wildcard", "*", "\\2a", "*"},
                             /* 4 */ EscapeCase{"FilterInjection", "x)(uid=*", "x\\29\\28uid=\\2a", "x)(uid\\=*"},
                             /* 5 */ EscapeCase{"Backslash", "a\\b", "a\\5cb", "a\\\\b"},
                             /* 6 */ EscapeCase{"Nul", "a\0b"s, "a\\00b", "a\\00b"},
                             // DN injection: a comma would start a new RDN, '+' a multi-valued one.
                             /* 7 */ EscapeCase{"DnComma", "bob,ou=admins", "bob,ou=admins", "bob\\,ou\\=admins"},
                             /* 8 */ EscapeCase{"DnSpecials", "\"+;<>", "\"+;<>", "\\\"\\+\\;\\<\\>"},
                             /* 9 */ EscapeCase{"LeadingHashAndSpace", "#x", "#x", "\\#x"},
                             /* 10 */ EscapeCase{"LeadingAndTrailingSpace", " x ", " x ", "\\ x\\ "},
                             /* 11 */ EscapeCase{"InnerSpaceAndHashKept", "a b#c", "a b#c", "a b#c"},
                             /* 12 */ EscapeCase{"Utf8Kept", "j\xc3\xbcrgen", "j\xc3\xbcrgen", "j\xc3\xbcrgen"}),
                         [](const ::testing::TestParamInfo<EscapeCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

struct TemplateCase {
  const char* name;
  const char* tmpl;
  const char* user;
  const char* dn;
  const char* expected;
};

class LdapTemplateTest : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(LdapTemplateTest, Expands) {
  const TemplateCase& c = GetParam();
  EXPECT_EQ(detail::expand_template(c.tmpl, c.user, c.dn), c.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LdapTemplateTest,
    ::testing::Values(
        /* 1 */ TemplateCase{"BindDn", "uid=%u,ou=people,dc=ocm", "alice", "", "uid=alice,ou=people,dc=ocm"},
        /* 2 */ TemplateCase{"Filter", "(uid=%u)", "alice", "", "(uid=alice)"},
        /* 3 */
        TemplateCase{"GroupFilter", "(|(member=%d)(memberUid=%u))", "bob", "uid=bob,dc=ocm",
                     "(|(member=uid=bob,dc=ocm)(memberUid=bob))"},
        /* 4 */ TemplateCase{"Twice", "(|(uid=%u)(mail=%u@ocm))", "a", "", "(|(uid=a)(mail=a@ocm))"},
        /* 5 */ TemplateCase{"PercentPercent", "(x=100%%)", "a", "", "(x=100%)"},
        /* 6 */ TemplateCase{"UnknownKept", "(x=%s%u)", "a", "", "(x=%sa)"},
        /* 7 */ TemplateCase{"TrailingPercent", "(x=%u)%", "a", "", "(x=a)%"},
        // Substituted text is not expanded again: a user called "%d" stays "%d".
        /* 8 */ TemplateCase{"NoRecursion", "uid=%u", "%d", "SECRET", "uid=%d"}),
    [](const ::testing::TestParamInfo<TemplateCase>& param_info) { return std::string(param_info.param.name); });

struct UsernameCase {
  const char* name;
  std::string username;
  bool valid;
};

class LdapUsernameTest : public ::testing::TestWithParam<UsernameCase> {};

TEST_P(LdapUsernameTest, Validated) {
  EXPECT_EQ(detail::valid_username(GetParam().username), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(Table, LdapUsernameTest,
                         ::testing::Values(
                             /* 1 */ UsernameCase{"Plain", "alice", true},
                             /* 2 */ UsernameCase{"Specials", "a*b(c)", true},  // escaped later, not refused
                             /* 3 */ UsernameCase{"Empty", "", false},
                             /* 4 */ UsernameCase{"Nul", "alice\0x"s, false},
                             /* 5 */ UsernameCase{"Newline", "alice\n", false},
                             /* 6 */ UsernameCase{"Del", "alice\x7f", false},
                             /* 7 */ UsernameCase{"Longest", std::string(256, 'a'), true},
                             /* 8 */ UsernameCase{"TooLong", std::string(257, 'a'), false}),
                         [](const ::testing::TestParamInfo<UsernameCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

config::LdapConfig unreachable_config() {
  config::LdapConfig cfg;
  cfg.uri = "ldap://127.0.0.1:1";  // nothing listens on port 1: connection refused at once
  cfg.bind_dn = "uid=%u,ou=people,dc=ocm,dc=test";
  cfg.timeout_s = 1;
  return cfg;
}

TEST(LdapLogin, EmptyPasswordRefusedWithoutNetwork) {
  // An unresolvable host: were a connection attempted, the reason would name the server.
  config::LdapConfig cfg = unreachable_config();
  cfg.uri = "ldap://ldap.invalid:389";
  auto out = ldap_login(cfg, "alice", "");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("empty password"), std::string::npos) << out.reason;
  EXPECT_TRUE(out.groups.empty());
}

TEST(LdapLogin, ControlCharactersInUserNameRefused) {
  auto out = ldap_login(unreachable_config(), "alice\r\n", "secret");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.reason.find("control characters"), std::string::npos) << out.reason;
}

TEST(LdapLogin, UnreachableServerFailsQuicklyWithReason) {
  for (bool search : {false, true}) {
    config::LdapConfig cfg = unreachable_config();
    if (search) {
      cfg.bind_dn.clear();
      cfg.base_dn = "ou=people,dc=ocm,dc=test";
    }
    auto start = std::chrono::steady_clock::now();
    auto out = ldap_login(cfg, "alice", "secret");
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(out.ok);
    EXPECT_FALSE(out.reason.empty());
    EXPECT_EQ(out.reason.find("secret"), std::string::npos) << "the password must not reach the log";
    EXPECT_LT(elapsed, std::chrono::seconds(5)) << out.reason;
  }
}

TEST(LdapLogin, BadUriFailsWithReason) {
  config::LdapConfig cfg = unreachable_config();
  cfg.uri = "ldap://[bad";
  auto out = ldap_login(cfg, "alice", "secret");
  EXPECT_FALSE(out.ok);
  EXPECT_FALSE(out.reason.empty());
}

}  // namespace
}  // namespace ocm::auth
