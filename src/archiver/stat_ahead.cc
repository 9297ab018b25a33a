#include "archiver/stat_ahead.h"

#include <optional>

namespace lb::archiver {

struct StatAhead::Shared {
  std::vector<std::optional<lb::Result<fs::Metadata>>> results;
  std::optional<WorkShare> work;
};

StatAhead::StatAhead(const fs::Dir& dir, const std::vector<std::string>& names,
                     std::vector<const fs::Metadata*> previous, ThreadPool& pool, size_t helpers)
    : s_(std::make_unique<Shared>()) {
  s_->results.resize(names.size());
  // Only the claimer of a chunk writes its results; WorkShare's lock orders the
  // writes before the walker's Take.
  auto stat = [&dir, &names, prev = std::move(previous), results = &s_->results](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) (*results)[i] = dir.Stat(names[i], prev[i]);
  };
  s_->work.emplace(names.size(), kChunk, std::move(stat), pool, helpers);
}

StatAhead::~StatAhead() = default;  // WorkShare's destructor waits for running helpers

lb::Result<fs::Metadata> StatAhead::Take(size_t i) {
  s_->work->Ensure(i);
  lb::Result<fs::Metadata> r = std::move(*s_->results[i]);
  s_->results[i].reset();
  return r;
}

size_t StatAhead::helped_chunks() const { return s_->work->helped_chunks(); }

}  // namespace lb::archiver
