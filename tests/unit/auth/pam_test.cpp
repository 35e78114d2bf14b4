#include "ocm/auth/pam.hpp"

#include <gtest/gtest.h>
#include <security/pam_appl.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace ocm::auth {
namespace {

// Frees what the conversation returned, as PAM does.
void free_answers(pam_response* resp, int count) {
  if (resp == nullptr) {
    return;
  }
  for (int i = 0; i < count; ++i) {
    std::free(resp[i].resp);  // NOLINT(cppcoreguidelines-no-malloc)
  }
  std::free(resp);  // NOLINT(cppcoreguidelines-no-malloc)
}

struct ConvCase {
  const char* name;
  std::vector<int> styles;           // one message per style
  int expected;                      // return code
  std::vector<const char*> answers;  // per message when PAM_SUCCESS: nullptr = no answer
};

class PamConversationTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(PamConversationTest, AnswersOnlyWhatItCan) {
  const ConvCase& c = GetParam();
  std::vector<pam_message> messages(c.styles.size());
  std::vector<const pam_message*> pointers;
  for (size_t i = 0; i < c.styles.size(); ++i) {
    messages[i].msg_style = c.styles[i];
    messages[i].msg = "prompt";
    pointers.push_back(&messages[i]);
  }
  detail::PamConvData data{"s3cret"};
  pam_response* resp = reinterpret_cast<pam_response*>(0x1);  // must be overwritten either way
  int rc = detail::pam_conversation(static_cast<int>(pointers.size()), pointers.data(), &resp, &data);
  EXPECT_EQ(rc, c.expected);
  if (rc != PAM_SUCCESS) {
    EXPECT_EQ(resp, nullptr) << "a failed conversation hands PAM nothing to free";
    return;
  }
  ASSERT_NE(resp, nullptr);
  for (size_t i = 0; i < c.answers.size(); ++i) {
    if (c.answers[i] == nullptr) {
      EXPECT_EQ(resp[i].resp, nullptr) << "message " << i;
    } else {
      ASSERT_NE(resp[i].resp, nullptr) << "message " << i;
      EXPECT_STREQ(resp[i].resp, c.answers[i]) << "message " << i;
    }
    EXPECT_EQ(resp[i].resp_retcode, 0);
  }
  free_answers(resp, static_cast<int>(c.answers.size()));
}

INSTANTIATE_TEST_SUITE_P(
    Table, PamConversationTest,
    ::testing::Values(
        /* 1 */ ConvCase{"PasswordPrompt", {PAM_PROMPT_ECHO_OFF}, PAM_SUCCESS, {"s3cret"}},
        /* 2 */ ConvCase{"InfoThenPassword", {PAM_TEXT_INFO, PAM_PROMPT_ECHO_OFF}, PAM_SUCCESS, {nullptr, "s3cret"}},
        /* 3 */ ConvCase{"ErrorMessageOnly", {PAM_ERROR_MSG}, PAM_SUCCESS, {nullptr}},
        /* 4 */ ConvCase{"EchoOnPromptFailsClosed", {PAM_PROMPT_ECHO_ON}, PAM_CONV_ERR, {}},
        /* 5 */ ConvCase{"PasswordThenEchoOnFailsClosed", {PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON}, PAM_CONV_ERR, {}},
        /* 6 */ ConvCase{"UnknownStyleFailsClosed", {PAM_PROMPT_ECHO_OFF, 77}, PAM_CONV_ERR, {}},
        /* 7 */ ConvCase{"NoMessages", {}, PAM_CONV_ERR, {}}),
    [](const ::testing::TestParamInfo<ConvCase>& param_info) { return std::string(param_info.param.name); });

TEST(PamConversation, RejectsMissingAppData) {
  pam_message m{PAM_PROMPT_ECHO_OFF, "Password: "};
  const pam_message* p = &m;
  pam_response* resp = nullptr;
  EXPECT_EQ(detail::pam_conversation(1, &p, &resp, nullptr), PAM_CONV_ERR);
  EXPECT_EQ(resp, nullptr);
}

TEST(PamConversation, LongPasswordIsCopiedExactly) {
  // A password is whatever the user typed; the answer is a NUL-terminated copy of it.
  pam_message m{PAM_PROMPT_ECHO_OFF, "Password: "};
  const pam_message* p = &m;
  std::string long_password(300, 'x');
  detail::PamConvData data{long_password};
  pam_response* resp = nullptr;
  ASSERT_EQ(detail::pam_conversation(1, &p, &resp, &data), PAM_SUCCESS);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(std::string(resp[0].resp), long_password);
  free_answers(resp, 1);
}

TEST(PamLogin, UnknownServiceFails) {
  // No /etc/pam.d file of this name: Linux-PAM falls back to "other", which denies on Debian.
  auto out = pam_login("ocm-unit-test-no-such-service", "nobody-ocm-test", "x", 0);
  EXPECT_FALSE(out.ok);
  EXPECT_FALSE(out.reason.empty());
  EXPECT_TRUE(out.groups.empty());
}

}  // namespace
}  // namespace ocm::auth
