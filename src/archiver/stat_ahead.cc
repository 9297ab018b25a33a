#include "archiver/stat_ahead.h"

#include <condition_variable>
#include <mutex>
#include <optional>

namespace lb::archiver {

namespace {
enum class ChunkState : uint8_t { kPending, kRunning, kDone };
}

struct StatAhead::Shared {
  const fs::Dir& dir;
  const std::vector<std::string>& names;
  std::vector<const fs::Metadata*> previous;
  std::vector<std::optional<lb::Result<fs::Metadata>>> results;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<ChunkState> state;
  size_t front = 0;  // chunks [front, back) may still be claimed
  size_t back = 0;
  size_t running = 0;
  size_t helped = 0;

  Shared(const fs::Dir& d, const std::vector<std::string>& n, std::vector<const fs::Metadata*> p)
      : dir(d), names(n), previous(std::move(p)), results(n.size()) {}

  // Outside mu: only the claimer of chunk c writes its results.
  void StatChunk(size_t c) {
    const size_t end = std::min(names.size(), (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) results[i] = dir.Stat(names[i], previous[i]);
  }

  void Finish(size_t c, bool helper) {
    std::lock_guard<std::mutex> l(mu);
    state[c] = ChunkState::kDone;
    --running;
    if (helper) ++helped;
    cv.notify_all();
  }

  void Help() {
    for (;;) {
      size_t c;
      {
        std::lock_guard<std::mutex> l(mu);
        if (back <= front) return;
        c = --back;
        state[c] = ChunkState::kRunning;
        ++running;
      }
      StatChunk(c);
      Finish(c, true);
    }
  }
};

StatAhead::StatAhead(const fs::Dir& dir, const std::vector<std::string>& names,
                     std::vector<const fs::Metadata*> previous, ThreadPool& pool, size_t helpers)
    : s_(std::make_shared<Shared>(dir, names, std::move(previous))) {
  const size_t chunks = (names.size() + kChunk - 1) / kChunk;
  s_->state.assign(chunks, ChunkState::kPending);
  s_->back = chunks;
  // The walker starts on chunk 0 at once; helpers only pay off for the rest.
  helpers = std::min(helpers, chunks > 0 ? chunks - 1 : 0);
  for (size_t h = 0; h < helpers; ++h) pool.Submit([s = s_] { s->Help(); });
}

StatAhead::~StatAhead() {
  std::unique_lock<std::mutex> l(s_->mu);
  s_->back = s_->front;  // late helper tasks find nothing to claim
  s_->cv.wait(l, [&] { return s_->running == 0; });
}

lb::Result<fs::Metadata> StatAhead::Take(size_t i) {
  Shared& s = *s_;
  const size_t c = i / kChunk;
  {
    std::unique_lock<std::mutex> l(s.mu);
    if (s.state[c] == ChunkState::kPending && c >= s.front && c < s.back) {
      s.front = c + 1;  // chunks skipped before c (excluded entries) are never needed
      s.state[c] = ChunkState::kRunning;
      ++s.running;
      l.unlock();
      s.StatChunk(c);
      s.Finish(c, false);
    } else {
      s.cv.wait(l, [&] { return s.state[c] == ChunkState::kDone; });
    }
  }
  lb::Result<fs::Metadata> r = std::move(*s.results[i]);
  s.results[i].reset();
  return r;
}

size_t StatAhead::helped_chunks() const {
  std::lock_guard<std::mutex> l(s_->mu);
  return s_->helped;
}

}  // namespace lb::archiver
