#include "checker/checker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "snapshot/store.h"
#include "storage/wrappers.h"

namespace lb::checker {
namespace {

namespace fsys = std::filesystem;

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-check-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    repo::InitOptions o;
    o.kdf = {1, 8 << 20};
    o.pack_size = 64 * 1024;
    auto r = repo::Repository::Init(storage::NewLocalBackend(dir_ + "/repo"), "pw", o);
    ASSERT_TRUE(r.ok());
    // One snapshot whose tree references 20 data blobs spread over several packs.
    std::mt19937 rng(5);
    snapshot::Node file;
    file.name = "f";
    file.meta.type = fs::FileType::kRegular;
    for (int i = 0; i < 20; ++i) {
      Bytes b(20000);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      Id id = (*r)->BlobId(b);
      ASSERT_TRUE((*r)->SaveBlob(repo::BlobKind::kData, id, b).ok());
      file.content.push_back(id);
      file.meta.size += b.size();
    }
    snapshot::Tree t;
    t.nodes.push_back(file);
    auto tree = snapshot::SaveTree(**r, t);
    ASSERT_TRUE(tree.ok());
    ASSERT_TRUE((*r)->Flush().ok());
    snapshot::Snapshot s;
    s.tree = tree->first;
    ASSERT_TRUE((*r)->SaveSnapshotFile(snapshot::EncodeSnapshot(s)).ok());
    tree_ = tree->first;
    plan_ = std::make_shared<storage::FaultPlan>();
  }
  void TearDown() override { fsys::remove_all(dir_); }

  std::unique_ptr<repo::Repository> Open() {
    auto r = repo::Repository::Open(storage::NewFaultyBackend(storage::NewLocalBackend(dir_ + "/repo"), plan_), "pw");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(r).value();
  }

  std::vector<fsys::path> Packs() {
    std::vector<fsys::path> out;
    for (const auto& e : fsys::recursive_directory_iterator(dir_ + "/repo/data"))
      if (e.is_regular_file()) out.push_back(e.path());
    return out;
  }

  std::string dir_;
  std::shared_ptr<storage::FaultPlan> plan_;
  Id tree_;
};

Options ReadAll() {
  Options o;
  o.read_data.mode = ReadData::kAll;
  return o;
}

TEST_F(CheckerTest, CleanRepositoryPasses) {
  auto repo = Open();
  auto r = Check(*repo, ReadAll(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->errors[0].message;
  EXPECT_GT(r->packs, 2u);
  EXPECT_EQ(r->packs_read, r->packs);
  EXPECT_EQ(r->blobs_read, 21u);
}

TEST_F(CheckerTest, TransientBadReadIsNotDamage) {
  plan_->corrupt_first_read = true;  // every file's first read returns a flipped byte
  auto repo = Open();
  auto r = Check(*repo, ReadAll(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok()) << r->errors[0].kind << " " << r->errors[0].message;
  EXPECT_EQ(r->packs_read, r->packs);
}

TEST_F(CheckerTest, FlippedBitIsNamedWithTheAffectedPath) {
  // Damage a pack that holds only file data (not the tree), so that the
  // structure check cannot notice it and only --read-data does.
  std::string tree_pack;
  {
    auto repo = Open();
    tree_pack = repo->index().Find(tree_)->pack->id.Hex();
  }
  std::vector<fsys::path> packs;
  for (const auto& p : Packs())
    if (p.filename().string() != tree_pack) packs.push_back(p);
  ASSERT_FALSE(packs.empty());
  {
    std::fstream f(packs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(30);
    char c = 0;
    f.get(c);
    f.seekp(30);
    f.put(static_cast<char>(c ^ 0x55));  // always a change (writing a constant may not be)
  }
  auto repo = Open();
  Options structure;
  auto plain = Check(*repo, structure, 0);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->ok());  // structure alone does not read pack contents
  auto r = Check(*repo, ReadAll(), 0);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].kind, "pack");
  EXPECT_EQ(r->errors[0].id, packs[0].filename().string());
  ASSERT_FALSE(r->errors[0].affects.empty());
  EXPECT_EQ(r->errors[0].affects[0].path, "/f");
}

TEST_F(CheckerTest, DeletedPackFoundWithoutReadingData) {
  auto packs = Packs();
  fsys::remove(packs.back());
  auto repo = Open();
  auto r = Check(*repo, Options{}, 0);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->errors[0].kind, "pack");
  EXPECT_NE(r->errors[0].message.find("missing"), std::string::npos);
}

TEST_F(CheckerTest, SlicesCoverEveryPackOnce) {
  auto repo = Open();
  uint64_t read = 0;
  for (uint32_t k = 1; k <= 3; ++k) {
    Options o;
    o.read_data = *ParseReadDataSubset(std::to_string(k) + "/3");
    auto r = Check(*repo, o, 0);
    ASSERT_TRUE(r.ok());
    read += r->packs_read;
  }
  EXPECT_EQ(read, Check(*repo, Options{}, 0)->packs);
  EXPECT_FALSE(ParseReadDataSubset("0/3").ok());
  EXPECT_FALSE(ParseReadDataSubset("4/3").ok());
  EXPECT_FALSE(ParseReadDataSubset("120%").ok());
  EXPECT_TRUE(ParseReadDataSubset("2.5%").ok());
}

}  // namespace
}  // namespace lb::checker
