#include "chunker/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace lb::chunker {
namespace {

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::vector<size_t> Split(const Chunker& c, ByteSpan data) {
  std::vector<size_t> bounds;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = c.Next(data.subspan(pos), true);
    EXPECT_GT(len, 0u);
    pos += len;
    bounds.push_back(pos);
  }
  return bounds;
}

Params Small() { return Params{4096, 16384, 65536}; }

TEST(Chunker, SizesWithinLimits) {
  Chunker c(Small(), 42);
  Bytes data = RandomBytes(4 << 20, 1);
  auto bounds = Split(c, data);
  size_t prev = 0;
  double total = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    size_t len = bounds[i] - prev;
    if (i + 1 < bounds.size()) {
      EXPECT_GE(len, Small().min_size);
    }
    EXPECT_LE(len, Small().max_size);
    total += static_cast<double>(len);
    prev = bounds[i];
  }
  double avg = total / static_cast<double>(bounds.size());
  EXPECT_GT(avg, Small().avg_size * 0.5);
  EXPECT_LT(avg, Small().avg_size * 2.0);
}

TEST(Chunker, BoundariesStableWhenBytesInsertedBefore) {
  Chunker c(Small(), 7);
  Bytes data = RandomBytes(2 << 20, 2);
  auto before = Split(c, data);
  Bytes edited = data;
  Bytes insert = RandomBytes(1000, 3);
  const size_t at = 100000;
  edited.insert(edited.begin() + at, insert.begin(), insert.end());
  auto after = Split(c, edited);
  std::set<size_t> shifted;
  for (size_t b : after)
    if (b > at) shifted.insert(b - insert.size());
  size_t kept = 0, later = 0;
  for (size_t b : before) {
    if (b <= at + Small().max_size) continue;  // near the edit may move
    ++later;
    if (shifted.count(b)) ++kept;
  }
  ASSERT_GT(later, 20u);
  EXPECT_EQ(kept, later);
}

TEST(Chunker, DependsOnSeed) {
  Bytes data = RandomBytes(1 << 20, 4);
  EXPECT_NE(Split(Chunker(Small(), 1), data), Split(Chunker(Small(), 2), data));
  EXPECT_EQ(Split(Chunker(Small(), 1), data), Split(Chunker(Small(), 1), data));
}

TEST(Chunker, NeedsMoreDataUnlessEof) {
  Chunker c(Small(), 9);
  Bytes data = RandomBytes(100, 5);
  EXPECT_EQ(c.Next(data, false), 0u);
  EXPECT_EQ(c.Next(data, true), 100u);
  Bytes zeros(Small().max_size + 10, 0);
  EXPECT_EQ(c.Next(zeros, false), Small().max_size);
}

// Fed piece by piece, as a reader fills its buffer, the chunker cuts exactly where
// it cuts the whole input.
TEST(Chunker, PiecewiseScanCutsWhereWholeScanCuts) {
  Chunker c(Small(), 11);
  Bytes data = RandomBytes(3 << 20, 6);
  // A run of zeros forces a cut at max_size.
  std::fill(data.begin() + (1 << 20), data.begin() + (1 << 20) + 2 * Small().max_size, 0);
  const auto whole = Split(c, data);
  std::mt19937 rng(3);
  std::vector<size_t> piecewise;
  size_t start = 0, have = 0;
  Chunker::Scan scan;
  while (start < data.size()) {
    have = std::min(data.size(), have + 1 + rng() % 20000);
    const bool eof = have == data.size();
    for (;;) {
      size_t cut = c.Next(ByteSpan(data).subspan(start, have - start), eof, scan);
      if (cut == 0) break;
      start += cut;
      piecewise.push_back(start);
      scan = {};
      if (start == data.size()) break;
    }
  }
  EXPECT_EQ(piecewise, whole);
}

TEST(Chunker, ValidateRejectsBadParams) {
  EXPECT_FALSE((Params{16, 1024, 4096}.Validate().ok()));
  EXPECT_FALSE((Params{4096, 3000, 65536}.Validate().ok()));
  EXPECT_FALSE((Params{4096, 65536, 16384}.Validate().ok()));
  EXPECT_TRUE(Params{}.Validate().ok());
}

}  // namespace
}  // namespace lb::chunker
