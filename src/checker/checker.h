// Checker: verifies a repository's structure and, optionally, every stored byte.
//
// Structure: index files load; every indexed pack exists with the indexed size;
// every snapshot file matches its name and decodes; every tree of every snapshot
// loads; every blob a tree references is in the index. Read-data additionally
// reads packs: SHA-256 of the file against its name, the header, and every blob
// (decrypt, decompress, re-hash against its id). A mismatching pack is read a
// second time before it is reported, so a transient bad read is not "damage".
//
// Every problem names the damaged object and, for lost or damaged data, the
// snapshots and paths that depend on it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace lb::checker {

struct ReadData {
  enum Mode { kNone, kAll, kPercent, kSlice } mode = kNone;
  double percent = 0;   // kPercent: 0 < percent <= 100, random packs
  uint32_t slice = 0;   // kSlice: packs whose id falls into slice K of N (1-based)
  uint32_t slices = 0;
};

// "10%", "2.5%", "K/N" (1 <= K <= N).
Result<ReadData> ParseReadDataSubset(const std::string& text);

struct Affected {
  Id snapshot;
  std::string path;
};

struct Problem {
  std::string kind;  // "index", "pack", "snapshot", "tree", "blob"
  std::string id;    // hex id (or file name) of the damaged object
  std::string message;
  std::vector<Affected> affects;
};

struct Report {
  std::vector<Problem> errors;
  std::vector<std::string> warnings;
  uint64_t snapshots = 0, trees = 0, packs = 0, packs_read = 0, blobs_read = 0;
  bool ok() const { return errors.empty(); }
};

struct Options {
  ReadData read_data;
  unsigned threads = 0;
  std::function<void(const std::string&)> on_progress;  // short status lines
};

// Fails only when the check itself cannot run (e.g. the backend cannot list);
// damage is reported in the Report.
Result<Report> Check(repo::Repository& repo, const Options& options, TimeNs now);

}  // namespace lb::checker
