// Budget: a counting limit on something in flight (bytes queued, open files,
// concurrent requests), with a run-time limit (std::counting_semaphore needs a
// compile-time maximum).
//
// Acquire(n) blocks until n more units fit under the limit; a request larger than
// the whole limit is let through when nothing else is held, so it cannot block
// forever. Release(n) returns what Acquire(n) took. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace lb {

class Budget {
 public:
  explicit Budget(size_t limit) : limit_(limit ? limit : 1) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  void Acquire(size_t n = 1) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return used_ == 0 || used_ + n <= limit_; });
    used_ += n;
  }
  // Takes n units only if they fit now (same rule as Acquire); never blocks.
  bool TryAcquire(size_t n = 1) {
    std::lock_guard<std::mutex> l(mu_);
    if (used_ != 0 && used_ + n > limit_) return false;
    used_ += n;
    return true;
  }
  void Release(size_t n = 1) {
    {
      std::lock_guard<std::mutex> l(mu_);
      used_ -= n;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t limit_;
  size_t used_ = 0;
};

}  // namespace lb
