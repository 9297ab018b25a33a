// BlockCacheBackend: a read cache for latency-bound (remote) backends.
//
// A restore asks for one blob at a time: thousands of small ranged reads, each a
// round trip to S3. Blobs that belong together were written next to each other in
// the same pack, so this wrapper reads packs in aligned blocks (`block_size`) and
// serves ranged Loads of data files from them: one request then answers every blob
// in the block. Whole-file Loads, other kinds and ranges larger than half the
// capacity pass straight through.
//
// Data files are immutable (named by their content), so a cached block is never
// stale; Remove of a data file drops its blocks. The cache holds at most
// `capacity` bytes of blocks (least recently used go first) plus the blocks being
// read. Concurrent Loads that need the same block wait for one read of it.
// A pack's size is asked once (Size) to cut the last block.
//
// Thread-safe when the wrapped backend is. Errors are the wrapped backend's; a
// failed block read is not cached.
#pragma once

#include <cstdint>
#include <memory>

#include "storage/backend.h"

namespace lb::storage {

struct BlockCacheOptions {
  uint64_t block_size = 4u << 20;
  uint64_t capacity = 64u << 20;  // >= block_size
};

std::unique_ptr<Backend> NewBlockCacheBackend(std::unique_ptr<Backend> inner, BlockCacheOptions options = {});

}  // namespace lb::storage
