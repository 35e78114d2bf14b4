#include "ocm/base/json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "json_check.hpp"

namespace ocm::json {
namespace {

using test::is_valid_json;

TEST(JsonChecker, AcceptsAndRejects) {
  EXPECT_TRUE(is_valid_json(R"({"a":[1,-2.5e3,true,false,null,"x\u00e9"]})"));
  EXPECT_FALSE(is_valid_json(R"({"a":1,})"));
  EXPECT_FALSE(is_valid_json("\"raw\ncontrol\""));
  EXPECT_FALSE(is_valid_json("\"\xff\""));
  EXPECT_FALSE(is_valid_json("{} {}"));
}

TEST(JsonWriter, NestedContainersAndCommas) {
  Writer w;
  w.begin_array();
  w.begin_object().field("ID", uint64_t{7}).field("Username", "alice").field("ok", true).end_object();
  w.begin_object().key("list").begin_array().value(1).value(2).end_array().key("none").null().end_object();
  w.end_array();
  EXPECT_EQ(w.str(), R"([{"ID":7,"Username":"alice","ok":true},{"list":[1,2],"none":null}])");
  EXPECT_TRUE(is_valid_json(w.str()));
}

TEST(JsonWriter, EmptyContainers) {
  Writer w;
  w.begin_object().key("a").begin_array().end_array().key("o").begin_object().end_object().end_object();
  EXPECT_EQ(w.str(), R"({"a":[],"o":{}})");
}

TEST(JsonWriter, EscapesQuotesBackslashAndControls) {
  std::string out;
  append_string(out, std::string("a\"b\\c\nd\te\x01\x7f", 11));
  EXPECT_EQ(out, R"("a\"b\\c\nd\te\u0001\u007f")");
  EXPECT_TRUE(is_valid_json(out));
}

TEST(JsonWriter, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string out;
  append_string(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  out.clear();
  // Lone continuation, truncated sequence, overlong '/', UTF-16 surrogate, beyond U+10FFFF.
  append_string(out, "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80");
  EXPECT_TRUE(is_valid_json(out)) << out;
  EXPECT_EQ(out.find('\x80'), std::string::npos);
}

TEST(JsonWriter, EveryByteValueGivesValidJson) {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  Writer w;
  w.begin_object().field(all, all).end_object();
  EXPECT_TRUE(is_valid_json(w.str()));
}

TEST(JsonWriter, LargeNumbers) {
  Writer w;
  w.begin_array().value(UINT64_MAX).value(INT64_MIN).end_array();
  EXPECT_EQ(w.str(), "[18446744073709551615,-9223372036854775808]");
}

}  // namespace
}  // namespace ocm::json
