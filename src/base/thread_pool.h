// ThreadPool: a fixed set of worker threads running submitted tasks.
//
// Submit() may be called from any thread, including a worker. Wait() blocks until
// every task submitted so far has finished. The destructor waits, then joins.
// Tasks must not throw.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lb {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);
  // Queues `task` ahead of every task not yet started (for work a thread is
  // waiting for while the queue holds work nobody waits for).
  void SubmitFront(std::function<void()> task);
  void Wait();
  unsigned size() const { return static_cast<unsigned>(workers_.size()); }

  // Number of hardware threads, at least 1.
  static unsigned DefaultThreads();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> tasks_;
  size_t running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace lb
