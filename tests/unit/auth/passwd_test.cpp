#include "ocm/auth/passwd.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ocm::auth {
namespace {

using namespace std::string_literals;

// All four hash "secret123". Generated once with libxcrypt (crypt_gensalt_rn + crypt_rn for $y$),
// Python's crypt.mksalt(METHOD_SHA512) for $6$, `openssl passwd -5` / `-1` for $5$ / $1$.
constexpr const char* kYescrypt = "$y$j9T$FJ.3iDHY2oS.n8a36jjB/0$5FaoSPsd7xrjh/STI5PR9N1BCKq6Klec7sfvGq6jlm0";
constexpr const char* kSha512 =
    "$6$xycIF4ZPp0ZjbYSr$3pA.Qjs1gPU7JkP8cZf8z/BINisZDv3Iiion95gRGdNoHCD1ZSvZw96P85sFHwl2zCzcKMCoUhVGVg5uip4lk0";
constexpr const char* kSha256 = "$5$BIDVZ.SB/2.Gwaqu$TMxrLksS1ch.XYsMzrdP8jZ/LUyRb9Ihtpi3RK5xB0A";
constexpr const char* kMd5 = "$1$M8qWdkqx$6kvE12/24wVqkCMA2Lkq70";
// A line exactly as Debian's `ocpasswd -c FILE -g g1,g2 alice` wrote it (password secret123).
constexpr const char* kOcpasswdLine = "alice:g1,g2:$5$ZYVcEZSty7RRv2Jx$gk7.T4pwbKbujpu6/hdN43pjHeirZrZbq6G5a5.Smy/";
// What crypt(3) itself accepts but we refuse: traditional DES and bcrypt, both of "secret123".
constexpr const char* kDes = "abhv/ZnAzL36k";
constexpr const char* kBcrypt = "$2b$05$abcdefghijklmnopqrstuufvjuf7CcaH07fRiVpDJzStoWzfjAMP6";

// Parameterised cases carry their own names, so failures say which case broke.
template <typename Case>
std::string case_name(const ::testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

// Writes hashes into test text: "{y}" "{6}" "{5}" "{1}" stand for the constants above, which keeps
// the tables readable.
std::string expand(std::string_view pattern) {
  constexpr std::pair<std::string_view, std::string_view> kTokens[] = {
      {"{y}", kYescrypt},
      {"{6}", kSha512},
      {"{5}", kSha256},
      {"{1}", kMd5},
  };
  std::string out(pattern);
  for (const auto& [token, value] : kTokens) {
    for (size_t pos = out.find(token); pos != std::string::npos; pos = out.find(token, pos + value.size())) {
      out.replace(pos, token.size(), value);
    }
  }
  return out;
}

struct VerifyCase {
  const char* name;  // test name suffix
  std::string hash;
  std::string password;
  bool expected;
};

std::ostream& operator<<(std::ostream& os, const VerifyCase& c) {
  return os << c.name;
}

std::vector<VerifyCase> verify_cases() {
  return {
      // Each supported kind: right password, wrong password, prefix and extension of it, empty.
      {"YescryptOk", kYescrypt, "secret123", true},
      {"YescryptWrong", kYescrypt, "secret124", false},
      {"YescryptPrefix", kYescrypt, "secret12", false},
      {"YescryptLonger", kYescrypt, "secret1234", false},
      {"YescryptEmpty", kYescrypt, "", false},
      {"Sha512Ok", kSha512, "secret123", true},
      {"Sha512Wrong", kSha512, "Secret123", false},
      {"Sha512Empty", kSha512, "", false},
      {"Sha256Ok", kSha256, "secret123", true},
      {"Sha256Wrong", kSha256, "secret124", false},
      {"Sha256Longer", kSha256, "secret1234", false},
      {"Md5Ok", kMd5, "secret123", true},
      {"Md5Wrong", kMd5, "secret124", false},
      {"Md5Empty", kMd5, "", false},
      // crypt stops at NUL: the tail must not be silently ignored.
      {"EmbeddedNulInPassword", kSha256, "secret123\0evil"s, false},
      // Locked, empty and unsupported hashes never match, even with the right password.
      {"LockedYescrypt", expand("!{y}"), "secret123", false},
      {"LockedSha256", expand("!{5}"), "secret123", false},
      {"EmptyHash", "", "secret123", false},
      {"EmptyHashEmptyPassword", "", "", false},
      {"Des", kDes, "secret123", false},
      {"Bcrypt", kBcrypt, "secret123", false},
      // Malformed hashes of a supported kind.
      {"BarePrefix", "$6$", "secret123", false},
      {"SaltOnly", "$5$BIDVZ.SB/2.Gwaqu", "secret123", false},
      {"Truncated", std::string(kSha512, std::string_view(kSha512).size() - 1), "secret123", false},
      {"TrailingGarbage", expand("{1}x"), "secret123", false},
      {"LeadingSpace", expand(" {1}"), "secret123", false},
      {"YescryptGarbage", "$y$garbage", "secret123", false},
      {"NulInHash", expand("{5}") + "\0"s, "secret123", false},
      {"Star", "*", "secret123", false},
      {"StarZero", "*0", "", false},
      {"UnknownScheme", "$9$abc$def", "secret123", false},
  };
}

class VerifyPasswordTest : public ::testing::TestWithParam<VerifyCase> {};

INSTANTIATE_TEST_SUITE_P(Cases, VerifyPasswordTest, ::testing::ValuesIn(verify_cases()), case_name<VerifyCase>);

TEST_P(VerifyPasswordTest, Verifies) {
  EXPECT_EQ(verify_password(GetParam().password, GetParam().hash), GetParam().expected);
}

TEST(PasswdParse, ReadsEntriesGroupsCommentsAndCrlf) {
  const std::string text = expand(
      "# ocserv users\r\n"
      "\r\n"
      "alice:g1,g2:{5}\r\n"
      "bob:*:{y}\n"
      "   \n"
      "carol::{1}\n"
      "dave:staff:!{6}\n"
      "otp.only@example-1_x::\n"
      "erin: a , b :{5}");  // no final newline
  auto file = PasswdFile::parse(text);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->size(), 6u);

  const auto* alice = file->find("alice");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(alice->hash, kSha256);  // "\r" stripped
  EXPECT_FALSE(alice->locked());

  ASSERT_NE(file->find("bob"), nullptr);
  EXPECT_TRUE(file->find("bob")->groups.empty());
  ASSERT_NE(file->find("carol"), nullptr);
  EXPECT_TRUE(file->find("carol")->groups.empty());
  ASSERT_NE(file->find("dave"), nullptr);
  EXPECT_TRUE(file->find("dave")->locked());
  ASSERT_NE(file->find("otp.only@example-1_x"), nullptr);
  EXPECT_TRUE(file->find("otp.only@example-1_x")->hash.empty());
  EXPECT_FALSE(file->find("otp.only@example-1_x")->locked());
  ASSERT_NE(file->find("erin"), nullptr);
  EXPECT_EQ(file->find("erin")->groups, (std::vector<std::string>{"a", "b"}));

  EXPECT_EQ(file->find("mallory"), nullptr);
  EXPECT_EQ(file->find("Alice"), nullptr);  // names are case-sensitive
  EXPECT_EQ(file->find(""), nullptr);
}

TEST(PasswdParse, EmptyAndCommentOnlyTextGiveEmptyFile) {
  for (const char* text : {"", "\n\n", "# nothing\n", "\r\n#x\r\n"}) {
    auto file = PasswdFile::parse(text);
    ASSERT_TRUE(file) << text;
    EXPECT_EQ(file->size(), 0u);
  }
}

TEST(PasswdParse, AcceptsOcpasswdOutput) {
  auto file = PasswdFile::parse(std::string(kOcpasswdLine) + "\n");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE(verify_user(*file, "alice", "secret123"));
  EXPECT_EQ(file->find("alice")->groups, (std::vector<std::string>{"g1", "g2"}));
}

TEST(PasswdParse, AcceptsLongestUsername) {
  const std::string name(64, 'u');
  auto file = PasswdFile::parse(name + expand(":*:{1}"));
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_NE(file->find(name), nullptr);
}

struct ParseErrorCase {
  const char* name;
  std::string text;
  std::string message_prefix;  // location, and enough of the reason to tell cases apart
};

std::ostream& operator<<(std::ostream& os, const ParseErrorCase& c) {
  return os << c.name;
}

class PasswdParseErrorTest : public ::testing::TestWithParam<ParseErrorCase> {};

std::vector<ParseErrorCase> parse_error_cases() {
  return {
      {"NoSeparator", "alice", "passwd:1: missing ':'"},
      {"TwoFields", expand("alice:{1}"), "passwd:1: missing ':'"},
      {"TwoFieldsAfterComments", "# c\n\nalice:g1\n", "passwd:3: missing ':'"},
      {"FourFields", expand("alice:g:{1}:x"), "passwd:1: too many"},
      {"EmptyUser", expand(":g1:{1}"), "passwd:1: empty user name"},
      {"SpaceInUser", expand("al ice:g1:{1}"), "passwd:1: user name has a character"},
      {"SlashInUser", expand("a/b:g1:{1}"), "passwd:1: user name has a character"},
      {"NonAsciiUser", expand("b\xc3\xa9:g1:{1}"), "passwd:1: user name has a character"},
      {"NulInUser", expand("a\0b:g1:{1}"s), "passwd:1: user name has a character"},
      {"UserTooLong", std::string(65, 'u') + expand("::{1}"), "passwd:1: user name longer than 64"},
      {"Duplicate", expand("alice::{1}\nbob::\r\nalice:g:{5}"), "passwd:3: duplicate user 'alice' (first on line 1)"},
      {"EmptyGroup", expand("alice:g1,,g2:{1}"), "passwd:1: empty group name"},
      {"TrailingComma", expand("x::\nalice:g1,:{1}"), "passwd:2: empty group name"},
  };
}

INSTANTIATE_TEST_SUITE_P(Cases, PasswdParseErrorTest, ::testing::ValuesIn(parse_error_cases()),
                         case_name<ParseErrorCase>);

TEST_P(PasswdParseErrorTest, NamesLineAndReason) {
  auto file = PasswdFile::parse(GetParam().text);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message.rfind(GetParam().message_prefix, 0), 0u)
      << "got: " << file.error().message << "\nwant prefix: " << GetParam().message_prefix;
}

TEST(PasswdParse, ErrorUsesSourceName) {
  auto file = PasswdFile::parse("ok::\nbroken\n", "/etc/ocserv/ocpasswd");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message.rfind("/etc/ocserv/ocpasswd:2: ", 0), 0u) << file.error().message;
}

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    std::string tmpl = ::testing::TempDir() + "ocm_passwd_XXXXXX";
    const int fd = mkstemp(tmpl.data());
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { (void)std::remove(path_.c_str()); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PasswdLoad, ReadsFile) {
  TempFile f(expand("alice:vpn:{5}\n"));
  auto file = PasswdFile::load(f.path());
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE(verify_user(*file, "alice", "secret123"));
}

TEST(PasswdLoad, ErrorsNameThePath) {
  TempFile f(expand("alice:vpn:{5}\nbad line\n"));
  auto file = PasswdFile::load(f.path());
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message.rfind(f.path() + ":2: ", 0), 0u) << file.error().message;
}

TEST(PasswdLoad, MissingFileNamesPathAndReason) {
  const std::string path = ::testing::TempDir() + "ocm_passwd_does_not_exist";
  auto file = PasswdFile::load(path);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find(path), std::string::npos) << file.error().message;
  EXPECT_NE(file.error().message.find("No such file"), std::string::npos) << file.error().message;
}

TEST(PasswdLoad, DirectoryIsAnError) {
  auto file = PasswdFile::load(::testing::TempDir());
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find(::testing::TempDir()), std::string::npos) << file.error().message;
}

struct UserCase {
  const char* name;
  const char* username;
  const char* password;
  bool expected;
};

std::ostream& operator<<(std::ostream& os, const UserCase& c) {
  return os << c.name;
}

class VerifyUserTest : public ::testing::TestWithParam<UserCase> {
 protected:
  // parse() runs no crypt, so rebuilding the file per case costs nothing.
  static PasswdFile make_file() {
    auto file = PasswdFile::parse(expand("y::{y}\n6::{6}\n5::{5}\n1::{1}\nlocked::!{5}\nnohash:g:\n"));
    EXPECT_TRUE(file) << file.error().message;
    return file ? std::move(*file) : PasswdFile{};
  }
  PasswdFile file_ = make_file();
};

constexpr UserCase kUserCases[] = {
    {"Yescrypt", "y", "secret123", true},
    {"Sha512", "6", "secret123", true},
    {"Sha256", "5", "secret123", true},
    {"Md5", "1", "secret123", true},
    {"WrongPassword", "5", "secret", false},
    {"Locked", "locked", "secret123", false},
    {"EmptyHash", "nohash", "", false},
    {"EmptyHashWithPassword", "nohash", "secret123", false},
    {"UnknownUser", "mallory", "secret123", false},
    {"EmptyUser", "", "secret123", false},
    {"CaseDiffers", "Y", "secret123", false},
};

INSTANTIATE_TEST_SUITE_P(Cases, VerifyUserTest, ::testing::ValuesIn(kUserCases), case_name<UserCase>);

TEST_P(VerifyUserTest, Verifies) {
  EXPECT_EQ(verify_user(file_, GetParam().username, GetParam().password), GetParam().expected);
}

// Unknown and locked users are checked against a decoy of the scheme most users have, so that
// their crypt call costs the same as a real one (yescrypt ~10 ms vs SHA-256 ~1 ms here would
// otherwise tell names apart). Timing itself is not asserted: machines are noisy.
TEST(VerifyUser, DecoyFollowsTheFilesCommonScheme) {
  auto yescrypt_only = PasswdFile::parse(expand("y::{y}\n"));
  ASSERT_TRUE(yescrypt_only);
  EXPECT_EQ(yescrypt_only->decoy_scheme(), "$y$");
  auto mostly_sha256 = PasswdFile::parse(expand("a::{5}\nb::{5}\nc::{y}\nd::{5}\nlocked::!{5}\n"));
  ASSERT_TRUE(mostly_sha256);
  EXPECT_EQ(mostly_sha256->decoy_scheme(), "$5$");
  for (const char* user : {"nobody", "locked"}) {
    EXPECT_FALSE(verify_user(*mostly_sha256, user, "secret123")) << user;
  }
}

TEST(VerifyUser, EmptyFileRejectsEveryone) {
  auto file = PasswdFile::parse("");
  ASSERT_TRUE(file);
  EXPECT_FALSE(verify_user(*file, "alice", "secret123"));
  EXPECT_FALSE(verify_user(*file, "", ""));
}

TEST(VerifyUser, FileOfOnlyUnusableHashesRejectsEveryone) {
  auto file = PasswdFile::parse(expand("a::!{5}\nc::\n") + "b::" + kDes + "\n");
  ASSERT_TRUE(file);
  for (const char* user : {"a", "b", "c", "zz"}) {
    EXPECT_FALSE(verify_user(*file, user, "secret123")) << user;
  }
}

}  // namespace
}  // namespace ocm::auth
