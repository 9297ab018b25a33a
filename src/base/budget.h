// Budget: a counting limit on something in flight (bytes queued, open files,
// concurrent requests), with a run-time limit (std::counting_semaphore needs a
// compile-time maximum).
//
// Acquire(n) blocks until n more units fit under the limit; a request larger than
// the whole limit is let through when nothing else is held, so it cannot block
// forever. Release(n) returns what Acquire(n) took. Thread-safe.
//
// With a wake slack, an Acquire that has to wait goes on only once `slack` more
// units are free than it needs, so a producer that keeps the budget full wakes once
// per batch of releases instead of at every one. Only for holders that release
// without waiting for the blocked thread (else it could wait for ever).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace lb {

class Budget {
 public:
  explicit Budget(size_t limit, size_t slack = 0) : limit_(limit ? limit : 1), slack_(slack) {}
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

  void Acquire(size_t n = 1) {
    std::unique_lock<std::mutex> l(mu_);
    if (!Fits(n)) {
      // Goes on when at most `resume` are held (or nothing).
      const size_t room = std::min(limit_, n + slack_);
      const size_t resume = limit_ - room;
      wake_at_ = waiters_++ == 0 ? resume : std::max(wake_at_, resume);
      cv_.wait(l, [&] { return used_ == 0 || used_ <= resume; });
      --waiters_;
    }
    used_ += n;
  }

  // Takes n units only if they fit now (same rule as Acquire); never blocks.
  bool TryAcquire(size_t n = 1) {
    std::lock_guard<std::mutex> l(mu_);
    if (!Fits(n)) return false;
    used_ += n;
    return true;
  }

  // Threads blocked in Acquire now.
  size_t waiters() {
    std::lock_guard<std::mutex> l(mu_);
    return waiters_;
  }

  void Release(size_t n = 1) {
    bool wake;
    {
      std::lock_guard<std::mutex> l(mu_);
      used_ -= n;
      wake = waiters_ > 0 && (used_ == 0 || used_ <= wake_at_);
    }
    if (wake) cv_.notify_all();
  }

 private:
  bool Fits(size_t n) const { return used_ == 0 || used_ + n <= limit_; }

  std::mutex mu_;
  std::condition_variable cv_;
  const size_t limit_;
  const size_t slack_;
  size_t used_ = 0;
  size_t waiters_ = 0;
  size_t wake_at_ = 0;  // the highest `resume` among the waiters
};

}  // namespace lb
