#include "chunker/chunker.h"

#include <bit>

namespace lb::chunker {

Status Params::Validate() const {
  if (min_size < 64) return InvalidArgument("chunker min size must be at least 64 bytes");
  if (!(min_size < avg_size && avg_size < max_size))
    return InvalidArgument("chunker sizes must satisfy min < avg < max");
  if (!std::has_single_bit(avg_size)) return InvalidArgument("chunker average size must be a power of two");
  if (max_size > 64u * 1024 * 1024) return InvalidArgument("chunker max size must be at most 64 MiB");
  return Status::Ok();
}

namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A mask with `bits` one-bits spread over the high half of the word (FastCDC uses
// spread masks so the hash's better-mixed high bits decide).
uint64_t SpreadMask(int bits) {
  uint64_t mask = 0;
  int placed = 0;
  for (int pos = 63; pos >= 0 && placed < bits; pos -= 2) {
    mask |= 1ULL << pos;
    ++placed;
  }
  for (int pos = 62; pos >= 0 && placed < bits; pos -= 2) {
    mask |= 1ULL << pos;
    ++placed;
  }
  return mask;
}

}  // namespace

Chunker::Chunker(const Params& params, uint64_t seed) : params_(params) {
  uint64_t state = seed;
  for (auto& g : gear_) g = SplitMix64(state);
  int bits = std::countr_zero(params.avg_size);
  // Normalization level 2: two more bits before the average, two fewer after.
  mask_small_ = SpreadMask(bits + 2);
  mask_large_ = SpreadMask(bits > 2 ? bits - 2 : 1);
}

size_t Chunker::Next(ByteSpan data, bool eof) const {
  Scan scan;
  return Next(data, eof, scan);
}

size_t Chunker::Next(ByteSpan data, bool eof, Scan& scan) const {
  const size_t n = data.size();
  if (n <= params_.min_size) return eof ? n : 0;
  const size_t limit = n < params_.max_size ? n : params_.max_size;
  const size_t normal = limit < params_.avg_size ? limit : params_.avg_size;
  uint64_t h = scan.hash;
  size_t i = scan.pos > params_.min_size ? scan.pos : params_.min_size;
  const uint8_t* p = data.data();
  for (; i < normal; ++i) {
    h = (h << 1) + gear_[p[i]];
    if ((h & mask_small_) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    h = (h << 1) + gear_[p[i]];
    if ((h & mask_large_) == 0) return i + 1;
  }
  if (limit == params_.max_size) return limit;
  if (eof) return n;
  scan.pos = i;
  scan.hash = h;
  return 0;
}

}  // namespace lb::chunker
