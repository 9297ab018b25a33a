#include "history/history.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace lb::history {
namespace {

Job MakeJob(const std::string& service, const std::string& kind, TimeNs end, bool ok) {
  Job j;
  j.service = service;
  j.kind = kind;
  j.start = end - 10;
  j.end = end;
  j.ok = ok;
  j.error = ok ? "" : "it broke";
  j.bytes = 1000;
  return j;
}

TEST(History, RecordAndQuery) {
  auto h = History::Open(":memory:");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_TRUE((*h)->Record(MakeJob("db", "backup", 100, true)).ok());
  ASSERT_TRUE((*h)->Record(MakeJob("db", "backup", 200, false)).ok());
  ASSERT_TRUE((*h)->Record(MakeJob("web", "backup", 300, true)).ok());
  ASSERT_TRUE((*h)->Record(MakeJob("db", "drill", 250, true)).ok());
  auto last_ok = (*h)->LastOk("db", "backup");
  ASSERT_TRUE(last_ok.ok());
  ASSERT_TRUE(last_ok->has_value());
  EXPECT_EQ((*last_ok)->end, 100);
  auto last = (*h)->Last("db", "backup");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_FALSE((*last)->ok);
  EXPECT_EQ((*last)->error, "it broke");
  auto recent = (*h)->Recent("db", "", 10);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].end, 250);
  auto none = (*h)->LastOk("nobody", "backup");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(History, PersistsAcrossOpens) {
  char tmpl[] = "/tmp/lb-hist-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/h.db";
  {
    auto h = History::Open(path);
    ASSERT_TRUE(h.ok());
    Job j = MakeJob("db", "backup", 42, true);
    j.snapshot_id = "abcd";
    j.details = R"({"phase":1})";
    ASSERT_TRUE((*h)->Record(j).ok());
  }
  auto h = History::Open(path);
  ASSERT_TRUE(h.ok());
  auto j = (*h)->LastOk("db", "backup");
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->snapshot_id, "abcd");
  EXPECT_EQ((*j)->details, R"({"phase":1})");
  std::filesystem::remove_all(tmpl);
}

TEST(History, UnwritableLocationIsAClearError) {
  auto h = History::Open("/nonexistent-dir/x/h.db");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("/nonexistent-dir/x/h.db"), std::string::npos);
}

}  // namespace
}  // namespace lb::history
