#include "base/work_share.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace lb {

namespace {
enum class ChunkState : uint8_t { kPending, kRunning, kDone };
}

struct WorkShare::Shared {
  size_t items;
  size_t chunk;
  Fn fn;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<ChunkState> state;
  size_t front = 0;  // chunks [front, back) may still be claimed
  size_t back = 0;
  size_t running = 0;
  size_t helped = 0;

  Shared(size_t n, size_t c, Fn f) : items(n), chunk(c), fn(std::move(f)) {}

  // Outside mu, by the claimer of chunk c.
  void Do(size_t c) {
    fn(c * chunk, std::min(items, (c + 1) * chunk));
    std::lock_guard<std::mutex> l(mu);
    state[c] = ChunkState::kDone;
    --running;
    cv.notify_all();
  }

  // Under mu: marks chunk c claimed.
  void Claim(size_t c) {
    state[c] = ChunkState::kRunning;
    ++running;
  }

  void Help() {
    for (;;) {
      size_t c;
      {
        std::lock_guard<std::mutex> l(mu);
        if (back <= front) return;
        c = --back;
        Claim(c);
        ++helped;
      }
      Do(c);
    }
  }
};

WorkShare::WorkShare(size_t items, size_t chunk, Fn fn, ThreadPool& pool, size_t helpers,
                     bool urgent)
    : s_(std::make_shared<Shared>(items, std::max<size_t>(chunk, 1), std::move(fn))) {
  const size_t chunks = (items + s_->chunk - 1) / s_->chunk;
  s_->state.assign(chunks, ChunkState::kPending);
  s_->back = chunks;
  // The owner starts on chunk 0 at once; helpers only pay off for the rest.
  helpers = std::min(helpers, chunks > 0 ? chunks - 1 : 0);
  for (size_t h = 0; h < helpers; ++h) {
    auto task = [s = s_] { s->Help(); };
    if (urgent) pool.SubmitFront(task);
    else pool.Submit(task);
  }
}

WorkShare::~WorkShare() {
  std::unique_lock<std::mutex> l(s_->mu);
  s_->back = s_->front;  // late helper tasks find nothing to claim
  s_->cv.wait(l, [&] { return s_->running == 0; });
}

void WorkShare::Ensure(size_t i) {
  Shared& s = *s_;
  const size_t c = i / s.chunk;
  std::unique_lock<std::mutex> l(s.mu);
  if (s.state[c] == ChunkState::kPending && c >= s.front && c < s.back) {
    s.front = c + 1;  // chunks skipped before c are never needed
    s.Claim(c);
    l.unlock();
    s.Do(c);
  } else {
    s.cv.wait(l, [&] { return s.state[c] == ChunkState::kDone; });
  }
}

void WorkShare::Finish() {
  Shared& s = *s_;
  std::unique_lock<std::mutex> l(s.mu);
  for (;;) {
    if (s.front < s.back) {
      const size_t c = s.front++;
      s.Claim(c);
      l.unlock();
      s.Do(c);
      l.lock();
      continue;
    }
    // Chunks skipped by Ensure are still pending: nobody else will do them.
    auto pending = std::find(s.state.begin(), s.state.end(), ChunkState::kPending);
    if (pending == s.state.end()) break;
    const size_t c = static_cast<size_t>(pending - s.state.begin());
    s.Claim(c);
    l.unlock();
    s.Do(c);
    l.lock();
  }
  s.cv.wait(l, [&] { return s.running == 0; });
}

size_t WorkShare::helped_chunks() const {
  std::lock_guard<std::mutex> l(s_->mu);
  return s_->helped;
}

}  // namespace lb
