#include "archiver/stat_ahead.h"

namespace lb::archiver {

// Only the claimer of a chunk writes its results; WorkShare's lock orders the
// writes before the walker's Take.
StatAhead::StatAhead(const fs::Dir& dir, const std::vector<std::string>& names,
                     std::vector<const fs::Metadata*> previous, ThreadPool& pool, size_t helpers)
    : results_(names.size()),
      work_(names.size(), kChunk,
            [&dir, &names, prev = std::move(previous), results = &results_](size_t b, size_t e) {
              for (size_t i = b; i < e; ++i) (*results)[i] = dir.Stat(names[i], prev[i]);
            },
            pool, helpers) {}

StatAhead::~StatAhead() = default;  // WorkShare's destructor waits for running helpers

lb::Result<fs::Metadata> StatAhead::Take(size_t i) {
  work_.Ensure(i);
  lb::Result<fs::Metadata> r = std::move(*results_[i]);
  results_[i].reset();
  return r;
}

size_t StatAhead::helped_chunks() const { return work_.helped_chunks(); }

}  // namespace lb::archiver
