// The building blocks every native format shares (adapters/common/native_util):
// what they write always reads back under their own readers' rules.
#include <gtest/gtest.h>

#include "adapters/common/native_util.h"
#include "gmock/gmock.h"

namespace portcullis::adapters {
namespace {

using ::testing::HasSubstr;

TEST(NativeUtilTest, TimesAreWrittenInUtcWithZAndFractionsOnlyWhenPresent) {
  google::protobuf::Timestamp t;
  t.set_seconds(1773476130);
  EXPECT_EQ(FormatProtoTime(t), "2026-03-14T08:15:30Z");
  t.set_nanos(250000000);
  EXPECT_EQ(FormatProtoTime(t), "2026-03-14T08:15:30.25Z");
}

TEST(NativeUtilTest, UkGradingIsNotWrittenAgainstItsOwnRules) {
  v1::UkGrading g;
  g.set_source(v1::UK_SOURCE_1_RELIABLE);
  g.set_intelligence(v1::UK_INTEL_A_KNOWN_DIRECTLY);
  g.set_handling(v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_THAT(std::string(UkGradingJson(g).status().message()), HasSubstr("handling_conditions"));
  g.set_handling_conditions("UK eyes only");
  EXPECT_TRUE(UkGradingJson(g).ok());
  g.set_handling(v1::UK_HANDLING_P_LAWFUL_SHARING);
  EXPECT_FALSE(UkGradingJson(g).ok());  // Conditions only with C.
  g.clear_handling();
  EXPECT_THAT(std::string(UkGradingJson(g).status().message()), HasSubstr("incomplete"));
}

TEST(NativeUtilTest, EuropolEvaluationIsNotWrittenAgainstItsOwnRules) {
  v1::EuropolEvaluation e;
  e.set_source(v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  e.set_accuracy(v1::EUROPOL_ACCURACY_2_KNOWN_PERSONALLY);
  e.add_handling(v1::EUROPOL_HANDLING_H3);
  EXPECT_THAT(std::string(EuropolEvaluationJson(e).status().message()), HasSubstr("restrictions"));
  e.set_restrictions("Not for judicial use");
  ASSERT_TRUE(EuropolEvaluationJson(e).ok());
  EXPECT_THAT(EuropolEvaluationJson(e)->Dump(), HasSubstr("\"H3\""));
  e.add_handling(v1::EUROPOL_HANDLING_H3);
  EXPECT_THAT(std::string(EuropolEvaluationJson(e).status().message()), HasSubstr("twice"));
}

TEST(NativeUtilTest, MessageIdsAndCountryCodes) {
  EXPECT_TRUE(IsMessageId("BF-REF-2026-004512-01"));
  EXPECT_FALSE(IsMessageId("../etc/passwd"));
  EXPECT_FALSE(IsMessageId(""));
  EXPECT_TRUE(IsCountryCode("IRQ"));
  EXPECT_FALSE(IsCountryCode("iq"));
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace portcullis::adapters
