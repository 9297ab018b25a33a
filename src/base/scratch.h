// A reusable buffer for bulk bytes that one thread writes and reads again and
// again (a pack read, a decrypted or decompressed blob, a copy for a writer).
//
// Why not a Bytes (std::vector): growing one copies its old contents and zeroes
// the new part, and every new page is a page fault on first touch. On this
// project's VMs (shadow page tables) a fault costs 10-20 us, about 40x a native
// one: in a 2.4 GB restore a vector read buffer and its growth were half of the
// process's 20k faults. A Scratch never copies or zeroes, and a large one is
// backed by transparent huge pages where the kernel offers them on request
// (madvise), one fault per 2 MiB instead of 512.
//
// Not thread-safe: one owner (typically thread_local or a pool's free list).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace lb {

class Scratch {
 public:
  // `huge`: from 1 MiB on, ask for huge pages. Each such buffer may hold up to
  // 2 MiB more in memory than it uses; for many buffers of varying sizes (a
  // pool's) that outweighs the faults saved.
  explicit Scratch(bool huge = true) : huge_(huge) {}
  Scratch(Scratch&&) = default;
  Scratch& operator=(Scratch&&) = default;

  // At least `n` bytes, uninitialised; the contents are lost when it has to
  // grow. Null when the memory cannot be allocated.
  uint8_t* Get(size_t n);
  size_t capacity() const { return capacity_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t capacity_ = 0;
  bool huge_ = true;
};

}  // namespace lb
