#include "base/scratch.h"

#include <sys/mman.h>

#include <algorithm>

namespace lb {

namespace {

constexpr size_t kHuge = 2u << 20;  // a transparent huge page on x86-64 and arm64
// From this size on a buffer is rounded up to whole huge pages: at most half of
// it is never used, and it costs one fault instead of 256 or more.
constexpr size_t kHugeFrom = 1u << 20;
constexpr size_t kPage = 4096;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

uint8_t* Scratch::Get(size_t n) {
  if (n <= capacity_ && data_) return data_.get();
  // Grows at least twofold, so a run of slowly rising sizes reallocates rarely.
  size_t want = std::max(n, capacity_ * 2);
  const bool huge = huge_ && want >= kHugeFrom;
  want = RoundUp(want, huge ? kHuge : kPage);
  data_.reset();
  capacity_ = 0;
  void* p = nullptr;
  if (::posix_memalign(&p, huge ? kHuge : kPage, want) != 0) return nullptr;
  // Advice only: without THP (or with it off) the pages are ordinary ones.
  if (huge) (void)::madvise(p, want, MADV_HUGEPAGE);
  data_.reset(static_cast<uint8_t*>(p));
  capacity_ = want;
  return data_.get();
}

}  // namespace lb
