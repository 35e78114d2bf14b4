#include "ocm/proto/auth_xml.hpp"

#include <gtest/gtest.h>

#include "param_name.hpp"

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace ocm::proto {
namespace {

using Opt = std::optional<std::string>;

constexpr const char* kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// What openconnect 9.01 puts around every answer (protocol.md §2.3), one line on the wire.
std::string openconnect_body(std::string_view type, std::string_view inner) {
  std::string out = kXmlDecl;
  out += "<config-auth client=\"vpn\" type=\"";
  out += type;
  out +=
      "\" aggregate-auth-version=\"2\"><version who=\"vpn\">v9.01-3</version><device-id>linux-64</device-id>"
      "<capabilities><auth-method>single-sign-on-v2</auth-method>"
      "<auth-method>single-sign-on-external-browser</auth-method></capabilities>";
  out += inner;
  out += "</config-auth>\n";
  return out;
}

std::string auth_reply(std::string_view auth_inner, std::string_view after = "") {
  return openconnect_body("auth-reply", "<auth>" + std::string(auth_inner) + "</auth>" + std::string(after));
}

// ---------------------------------------------------------------- accepted bodies

struct BodyCase {
  const char* name;
  std::string body;
  bool is_xml;
  Opt type;
  Opt username;
  Opt password;
  Opt group;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const BodyCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<BodyCase> accepted_cases() {
  std::string max_value(256, 'm');
  return {
      // XML, as openconnect sends it.
      {"OcInit", openconnect_body("init", "<group-access>https://10.99.0.1:4443/</group-access>"), true, "init",
       std::nullopt, std::nullopt, std::nullopt},
      {"OcInitWithGroup",
       openconnect_body("init", "<group-access>https://h/</group-access><group-select>grpB</group-select>"), true,
       "init", std::nullopt, std::nullopt, "grpB"},
      {"OcUsername", auth_reply("<username>alice</username>"), true, "auth-reply", "alice", std::nullopt, std::nullopt},
      {"OcUsernameAndGroup", auth_reply("<username>alice</username>", "<group-select>Group B</group-select>"), true,
       "auth-reply", "alice", std::nullopt, "Group B"},
      {"OcPassword", auth_reply("<password>secret123</password>"), true, "auth-reply", std::nullopt, "secret123",
       std::nullopt},
      {"OcSecondaryPassword", auth_reply("<secondary_password>123456</secondary_password>"), true, "auth-reply",
       std::nullopt, "123456", std::nullopt},
      {"FirstPasswordWins", auth_reply("<secondary_password>a</secondary_password><password>b</password>"), true,
       "auth-reply", std::nullopt, "a", std::nullopt},
      {"FirstUsernameWins", auth_reply("<username>a</username><username>b</username>"), true, "auth-reply", "a",
       std::nullopt, std::nullopt},
      {"PredefinedEntities", auth_reply("<username>a&amp;b&lt;&gt;&quot;&apos;</username>"), true, "auth-reply",
       "a&b<>\"'", std::nullopt, std::nullopt},
      {"NumericReferences", auth_reply("<password>&#65;&#x42;&#xe9;&#128512;</password>"), true, "auth-reply",
       std::nullopt, "AB\xC3\xA9\xF0\x9F\x98\x80", std::nullopt},
      {"Cdata", auth_reply("<password><![CDATA[p<&>]]>x&amp;</password>"), true, "auth-reply", std::nullopt, "p<&>x&",
       std::nullopt},
      {"CommentHidesDecoy", auth_reply("<!-- <username>evil</username> --><username>good</username>"), true,
       "auth-reply", "good", std::nullopt, std::nullopt},
      {"CommentInsideValue", auth_reply("<username>al<!-- x -->ice</username>"), true, "auth-reply", "alice",
       std::nullopt, std::nullopt},
      {"SelfClosingIsEmpty", auth_reply("<username/><password />"), true, "auth-reply", "", "", std::nullopt},
      {"EmptyElements", auth_reply("<username></username><password></password>"), true, "auth-reply", "", "",
       std::nullopt},
      {"SpacesKept", auth_reply("<username> bob\t</username>"), true, "auth-reply", " bob\t", std::nullopt,
       std::nullopt},
      {"Utf8Kept", auth_reply("<username>j\xC3\xBCrgen</username>"), true, "auth-reply", "j\xC3\xBCrgen", std::nullopt,
       std::nullopt},
      {"CaseInsensitiveNames", auth_reply("<UserName>x</UserName><PASSWORD>y</PASSWORD>"), true, "auth-reply", "x", "y",
       std::nullopt},
      {"SingleQuotesAndEntityInType",
       std::string(kXmlDecl) + "<config-auth type='auth&#45;reply' client = \"vpn\" ><auth>"
                               "<username>u</username></auth></config-auth>",
       true, "auth-reply", "u", std::nullopt, std::nullopt},
      {"GreaterThanInAttribute",
       std::string(kXmlDecl) + "<config-auth x=\"a>b\" type=\"init\"><username>u</username></config-auth>", true,
       "init", "u", std::nullopt, std::nullopt},
      {"NoTypeAttribute", std::string(kXmlDecl) + "<config-auth><username>u</username></config-auth>", true,
       std::nullopt, "u", std::nullopt, std::nullopt},
      {"TypeFromFirstConfigAuthOnly",
       std::string(kXmlDecl) + "<r><config-auth type=\"a\"/><config-auth type=\"b\"/></r>", true, "a", std::nullopt,
       std::nullopt, std::nullopt},
      {"BareAuthRoot", std::string(kXmlDecl) + "<auth><username>legacy</username></auth>", true, std::nullopt, "legacy",
       std::nullopt, std::nullopt},
      {"DoctypeAndPi",
       std::string(kXmlDecl) + "<!DOCTYPE config-auth><?pi data?><config-auth type=\"init\"></config-auth>", true,
       "init", std::nullopt, std::nullopt, std::nullopt},
      {"ValueExactly256", auth_reply("<password>" + max_value + "</password>"), true, "auth-reply", std::nullopt,
       max_value, std::nullopt},
      {"DeclarationOnly", kXmlDecl, true, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
      // Form bodies.
      {"FormEmpty", "", false, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
      {"FormUsername", "username=alice", false, std::nullopt, "alice", std::nullopt, std::nullopt},
      {"FormPassword", "password=secret123", false, std::nullopt, std::nullopt, "secret123", std::nullopt},
      {"FormAllFields", "username=a%20b&password=se+cr%2Bet&group_list=grpB", false, std::nullopt, "a b", "se cr+et",
       "grpB"},
      {"FormEscapedGroupName", "group%5flist=grpA&username=u", false, std::nullopt, "u", std::nullopt, "grpA"},
      {"FormEscapedGroupNameUpper", "group%5Flist=grpA", false, std::nullopt, std::nullopt, std::nullopt, "grpA"},
      {"FormSecondaryPassword", "secondary_password=1234", false, std::nullopt, std::nullopt, "1234", std::nullopt},
      {"FormSpecials", "password=%26%3D%25%2b", false, std::nullopt, std::nullopt, "&=%+", std::nullopt},
      {"FormFirstWins", "username=a&username=b", false, std::nullopt, "a", std::nullopt, std::nullopt},
      {"FormNoEquals", "username&password=", false, std::nullopt, "", "", std::nullopt},
      {"FormEmptyPairsAndUnknown", "&&x=1&username=u&", false, std::nullopt, "u", std::nullopt, std::nullopt},
      {"FormValueWithEquals", "password=a=b", false, std::nullopt, std::nullopt, "a=b", std::nullopt},
      {"FormPrefixIsNotAField", "usernamex=a&xusername=b", false, std::nullopt, std::nullopt, std::nullopt,
       std::nullopt},
      {"FormValueExactly256", "username=" + max_value, false, std::nullopt, max_value, std::nullopt, std::nullopt},
  };
}

class AuthBodyTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(AuthBodyTest, Parses) {
  const auto& c = GetParam();
  auto fields = parse_auth_body(c.body);
  ASSERT_TRUE(fields.has_value()) << c.body;
  EXPECT_EQ(fields->is_xml, c.is_xml);
  EXPECT_EQ(fields->type, c.type);
  EXPECT_EQ(fields->username, c.username);
  EXPECT_EQ(fields->password, c.password);
  EXPECT_EQ(fields->group_select, c.group);
}

INSTANTIATE_TEST_SUITE_P(Bodies, AuthBodyTest, ::testing::ValuesIn(accepted_cases()), case_name<BodyCase>);

// ---------------------------------------------------------------- rejected bodies

struct RejectCase {
  const char* name;
  std::string body;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const RejectCase& c, std::ostream* os) {
  *os << c.name;
}

std::vector<RejectCase> rejected_cases() {
  std::string too_long(257, 'm');
  std::string deep = std::string(kXmlDecl);
  for (int i = 0; i < 100; ++i) {
    deep += "<a>";
  }
  std::string amps;
  for (int i = 0; i < 257; ++i) {
    amps += "&amp;";
  }
  return {
      {"UnknownEntity", auth_reply("<username>&nbsp;</username>")},
      {"UnterminatedEntity", auth_reply("<username>a&amp</username>")},
      {"BareAmpersand", auth_reply("<username>a & b</username>")},
      {"EmptyCharRef", auth_reply("<username>&#;</username>")},
      {"EmptyHexRef", auth_reply("<username>&#x;</username>")},
      {"NulCharRef", auth_reply("<username>&#0;</username>")},
      {"ControlCharRef", auth_reply("<username>&#1;</username>")},
      {"SurrogateRef", auth_reply("<username>&#xD800;</username>")},
      {"TooLargeRef", auth_reply("<username>&#x110000;</username>")},
      {"TooManyDigits", auth_reply("<username>&#0000000065;</username>")},
      {"UppercaseHexMarker", auth_reply("<username>&#X43;</username>")},  // XML allows only "&#x"
      {"BadDigitRef", auth_reply("<username>&#6a;</username>")},
      {"BadEntityInType", std::string(kXmlDecl) + "<config-auth type=\"&bad;\"></config-auth>"},
      {"RawNul", auth_reply(std::string("<password>a\0b</password>", 24))},
      {"ValueTooLong", auth_reply("<username>" + too_long + "</username>")},
      {"ValueTooLongAfterDecoding", auth_reply("<password>" + amps + "</password>")},
      {"CdataTooLong", auth_reply("<password><![CDATA[" + too_long + "]]></password>")},
      {"TypeTooLong", std::string(kXmlDecl) + "<config-auth type=\"" + too_long + "\"></config-auth>"},
      {"UnterminatedValue", std::string(kXmlDecl) + "<config-auth><auth><username>alice"},
      {"UnclosedRoot", std::string(kXmlDecl) + "<config-auth><username>a</username>"},
      {"TruncatedTag", std::string(kXmlDecl) + "<config-auth type=\"in"},
      {"TruncatedEndTag", std::string(kXmlDecl) + "<config-auth></config-au"},
      {"MismatchedNesting", std::string(kXmlDecl) + "<a><b></a></b>"},
      {"StrayEndTag", std::string(kXmlDecl) + "</x>"},
      {"ElementInsideValue", auth_reply("<username><b>x</b></username>")},
      {"LessThanInText", auth_reply("<username>a < b</username>")},
      {"LessThanInAttribute", auth_reply("<x a=\"<username>\"/>")},
      {"UnquotedAttribute", std::string(kXmlDecl) + "<config-auth type=init></config-auth>"},
      {"AttributeWithoutValue", std::string(kXmlDecl) + "<config-auth checked></config-auth>"},
      {"SlashWithoutGt", std::string(kXmlDecl) + "<a/ >"},
      {"UnterminatedComment", auth_reply("<!-- <username>x</username>")},
      {"UnterminatedCdata", auth_reply("<password><![CDATA[abc</password>")},
      {"UnterminatedPi", std::string("<?xml version=\"1.0\"")},
      {"TooDeep", deep},
      {"NameStartsWithDigit", std::string(kXmlDecl) + "<1a></1a>"},
      {"FormBadPercent", "username=%zz"},
      {"FormShortPercent", "username=%4"},
      {"FormTrailingPercent", "username=%"},
      {"FormBadPercentInOtherField", "foo=%G0&username=x"},
      {"FormBadPercentInName", "user%name=x"},
      {"FormNul", "username=a%00b"},
      {"FormValueTooLong", "password=" + too_long},
      {"FormValueTooLongAfterDecoding", "password=" + std::string(257, '+')},
  };
}

class AuthBodyRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(AuthBodyRejectTest, Fails) {
  EXPECT_FALSE(parse_auth_body(GetParam().body).has_value()) << GetParam().body;
}

INSTANTIATE_TEST_SUITE_P(Bodies, AuthBodyRejectTest, ::testing::ValuesIn(rejected_cases()), case_name<RejectCase>);

TEST(AuthBody, OnlyFirst64KiBAreSearched) {
  std::string body = "x=" + std::string(70000, 'a') + "&username=late";
  auto fields = parse_auth_body(body);
  ASSERT_TRUE(fields.has_value());
  EXPECT_FALSE(fields->username.has_value());
}

// ---------------------------------------------------------------- robustness

void expect_sane(std::string_view body) {
  auto fields = parse_auth_body(body);
  if (fields) {
    for (const auto* v : {&fields->type, &fields->username, &fields->password, &fields->group_select}) {
      if (v->has_value()) {
        EXPECT_LE((*v)->size(), 256u);
        EXPECT_EQ((*v)->find('\0'), std::string::npos);
      }
    }
  }
}

TEST(AuthBodyRobustness, EveryTruncationOfARealBody) {
  std::string body = auth_reply("<username>al&amp;ice</username><password><![CDATA[x]]></password>",
                                "<group-select>g</group-select><!-- c -->");
  size_t root_open = body.find("<config-auth");
  size_t root_closed = body.find("</config-auth>") + std::string_view("</config-auth>").size();
  for (size_t len = 0; len <= body.size(); ++len) {
    auto prefix = std::string_view(body).substr(0, len);
    expect_sane(prefix);
    if (len > root_open && len < root_closed) {
      EXPECT_FALSE(parse_auth_body(prefix).has_value()) << "prefix of " << len << " bytes";
    }
  }
  auto full = parse_auth_body(body);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->username, "al&ice");
  EXPECT_EQ(full->password, "x");
  EXPECT_EQ(full->group_select, "g");
}

TEST(AuthBodyRobustness, RandomBytes) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 600);
  for (int i = 0; i < 3000; ++i) {
    std::string body = (i % 2 == 0) ? "<?xml" : "";
    size_t n = length(rng);
    for (size_t j = 0; j < n; ++j) {
      body.push_back(static_cast<char>(byte(rng)));
    }
    expect_sane(body);
  }
}

TEST(AuthBodyRobustness, RandomMarkupSoup) {
  // Biased towards the characters that drive the scanner, so most inputs get deep into it.
  const std::vector<std::string> pieces = {"<",
                                           ">",
                                           "/",
                                           "</",
                                           "/>",
                                           "<!--",
                                           "-->",
                                           "<![CDATA[",
                                           "]]>",
                                           "<?",
                                           "?>",
                                           "<!",
                                           "&",
                                           ";",
                                           "&amp;",
                                           "&#",
                                           "&#x",
                                           "1",
                                           "F",
                                           "=",
                                           "\"",
                                           "'",
                                           " ",
                                           "\n",
                                           "username",
                                           "password",
                                           "_password",
                                           "group-select",
                                           "config-auth",
                                           "type",
                                           "a",
                                           "%",
                                           "+",
                                           "%5f",
                                           "group_list",
                                           "<username>",
                                           "</username>",
                                           "<password>",
                                           std::string(1, '\0'),
                                           "\xC3",
                                           "\xFF"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<size_t> count(0, 80);
  for (int i = 0; i < 5000; ++i) {
    std::string body = (i % 3 != 0) ? kXmlDecl : "";
    size_t n = count(rng);
    for (size_t j = 0; j < n; ++j) {
      body += pieces[pick(rng)];
    }
    expect_sane(body);
  }
}

TEST(AuthBodyRobustness, MutationsOfARealBody) {
  std::string base = auth_reply("<username>alice</username><secondary_password>p&#x41;</secondary_password>");
  std::mt19937 rng(99);
  std::uniform_int_distribution<size_t> where(0, base.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::string body = base;
    for (int k = 0; k < 1 + i % 4; ++k) {
      body[where(rng)] = static_cast<char>(byte(rng));
    }
    expect_sane(body);
  }
}

TEST(AuthBodyRobustness, HugeInputs) {
  std::string open_tags = std::string(kXmlDecl);
  while (open_tags.size() < (1u << 20)) {
    open_tags += "<a>";
  }
  EXPECT_FALSE(parse_auth_body(open_tags).has_value());

  std::string text = std::string(kXmlDecl) + "<config-auth>" + std::string(1u << 20, 'x');
  EXPECT_FALSE(parse_auth_body(text).has_value());

  std::string value = auth_reply("<username>" + std::string(1u << 20, 'x') + "</username>");
  EXPECT_FALSE(parse_auth_body(value).has_value());

  std::string form = "username=" + std::string(1u << 20, '%');
  EXPECT_FALSE(parse_auth_body(form).has_value());
}

// ---------------------------------------------------------------- documents

TEST(AuthDocuments, UsernameForm) {
  EXPECT_EQ(username_form_xml(""),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"auth-request\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"main\">\n"
            "<message>Please enter your username.</message>\n"
            "<form method=\"post\" action=\"/auth\">\n"
            "<input type=\"text\" name=\"username\" label=\"Username:\" />\n"
            "</form></auth>\n"
            "</config-auth>");
}

TEST(AuthDocuments, GroupFormWithoutGroupsIsTheUsernameForm) {
  EXPECT_EQ(group_form_xml("", true, {}), username_form_xml(""));
  EXPECT_EQ(group_form_xml("b", true, {}), username_form_xml("b"));
}

TEST(AuthDocuments, GroupFormAsOcservSendsIt) {
  EXPECT_EQ(group_form_xml("", true, {{"grpA", "grpA"}, {"grpB", "Group B & co"}}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"auth-request\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"main\">\n"
            "<message>Please enter your username.</message>\n"
            "<form method=\"post\" action=\"/auth\">\n"
            "<input type=\"text\" name=\"username\" label=\"Username:\" />\n"
            "<select name=\"group_list\" label=\"Group:\">\n"
            "<option value=\"grpA\">grpA</option>\n"
            "<option value=\"grpB\">Group B &amp; co</option>\n"
            "</select>\n"
            "</form></auth>\n"
            "</config-auth>");
}

TEST(AuthDocuments, GroupOnlyFormHasNoUsername) {
  auto doc = group_form_xml("", false, {{"a\"b", "a"}});
  EXPECT_EQ(doc.find("name=\"username\""), std::string::npos);
  EXPECT_NE(doc.find("Please select your group."), std::string::npos);
  EXPECT_NE(doc.find("<option value=\"a&quot;b\">a</option>"), std::string::npos);
}

TEST(AuthDocuments, OtpFormUsesSecondaryPassword) {
  auto doc = otp_form_xml("Please enter your OTP password.");
  // openconnect --token-mode=totp fills only a field named secondary_password.
  EXPECT_NE(doc.find("<input type=\"password\" name=\"secondary_password\""), std::string::npos);
  EXPECT_NE(doc.find("<message>Please enter your OTP password.</message>"), std::string::npos);
  // What the client posts back lands in AuthFields::password.
  auto fields = parse_auth_body(
      "<?xml version=\"1.0\"?><config-auth type=\"auth-reply\"><auth><secondary_password>123456"
      "</secondary_password></auth></config-auth>");
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->password, "123456");
}

TEST(AuthDocuments, UsernameFormWithBanner) {
  EXPECT_EQ(username_form_xml("Authorized use only & <watched>"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"auth-request\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"main\">\n"
            "<banner>Authorized use only &amp; &lt;watched&gt;</banner>"
            "<message>Please enter your username.</message>\n"
            "<form method=\"post\" action=\"/auth\">\n"
            "<input type=\"text\" name=\"username\" label=\"Username:\" />\n"
            "</form></auth>\n"
            "</config-auth>");
}

TEST(AuthDocuments, PasswordForm) {
  EXPECT_EQ(password_form_xml("Please enter your password."),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"auth-request\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"main\">\n"
            "<message>Please enter your password.</message>\n"
            "<form method=\"post\" action=\"/auth\">\n"
            "<input type=\"password\" name=\"password\" label=\"Password:\" />\n"
            "</form></auth>\n"
            "</config-auth>");
}

TEST(AuthDocuments, PasswordFormAfterFailureKeepsNewline) {
  auto doc = password_form_xml("Login failed.\nPlease enter your password.");
  EXPECT_NE(doc.find("\n<message>Login failed.\nPlease enter your password.</message>\n"), std::string::npos);
}

TEST(AuthDocuments, PasswordFormEscapesMessage) {
  auto doc = password_form_xml("PIN for \"token\" <1>:");
  EXPECT_NE(doc.find("<message>PIN for &quot;token&quot; &lt;1&gt;:</message>"), std::string::npos);
}

TEST(AuthDocuments, Complete) {
  EXPECT_EQ(auth_complete_xml(""),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"complete\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"success\">\n"
            "<title>SSL VPN Service</title></auth></config-auth>\n");
}

TEST(AuthDocuments, CompleteWithBanner) {
  EXPECT_EQ(auth_complete_xml("Welcome, it's 'you'"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<config-auth client=\"vpn\" type=\"complete\">\n"
            "<version who=\"sg\">0.1(1)</version>\n"
            "<auth id=\"success\">\n"
            "<title>SSL VPN Service</title><banner>Welcome, it&apos;s &apos;you&apos;</banner></auth></config-auth>\n");
}

TEST(AuthDocuments, OurDocumentsAreWellFormedForOurOwnScanner) {
  for (const auto& doc : {username_form_xml("b&"), password_form_xml("m<"), auth_complete_xml("x>")}) {
    auto fields = parse_auth_body(doc);
    ASSERT_TRUE(fields.has_value()) << doc;
    EXPECT_TRUE(fields->is_xml);
    EXPECT_FALSE(fields->username.has_value());
    EXPECT_FALSE(fields->password.has_value());
  }
  EXPECT_EQ(parse_auth_body(username_form_xml(""))->type, "auth-request");
  EXPECT_EQ(parse_auth_body(auth_complete_xml(""))->type, "complete");
}

struct EscapeCase {
  const char* name;
  std::string in;
  std::string out;
};

// NOLINTNEXTLINE(readability-identifier-naming): gtest looks this hook up by name.
void PrintTo(const EscapeCase& c, std::ostream* os) {
  *os << c.name;
}

class XmlEscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(XmlEscapeTest, Escapes) {
  EXPECT_EQ(xml_escape(GetParam().in), GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(
    Texts, XmlEscapeTest,
    ::testing::Values(EscapeCase{"Empty", "", ""}, EscapeCase{"Plain", "hello world", "hello world"},
                      EscapeCase{"Specials", "&<>\"'", "&amp;&lt;&gt;&quot;&apos;"},
                      EscapeCase{"AlreadyEscapedIsEscapedAgain", "&amp;", "&amp;amp;"},
                      EscapeCase{"WhitespaceKept", "a\tb\nc\r", "a\tb\nc\r"},
                      EscapeCase{"ControlsDropped",
                                 std::string("a\0b\x01\x1b"
                                             "c",
                                             6),
                                 "abc"},
                      EscapeCase{"Utf8Kept", "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80",
                                 "gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"},
                      EscapeCase{"InvalidByte",
                                 "a\xFF"
                                 "b",
                                 "a\xEF\xBF\xBD"
                                 "b"},
                      EscapeCase{"TruncatedSequence", "a\xE2\x82", "a\xEF\xBF\xBD\xEF\xBF\xBD"},
                      EscapeCase{"Overlong", "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},
                      EscapeCase{"Surrogate", "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}),
    case_name<EscapeCase>);

}  // namespace
}  // namespace ocm::proto
