// Snapshot, Tree and Node: immutable values and their codecs.
// See docs/format.md ("trees", "snapshots"). Both are CBOR maps with short keys;
// names, link targets and xattr values are CBOR byte strings, so any bytes survive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/status.h"
#include "fs/metadata.h"

namespace lb::snapshot {

struct Node {
  std::string name;   // one path component, raw bytes
  fs::Metadata meta;  // type, mode, owner, times, xattrs, link target...
  std::vector<Id> content;  // regular files: data blob ids in order
  Id subtree;               // directories: tree blob id
  std::string error;        // non-empty: the file was not (fully) read; content is partial
};

struct Tree {
  std::vector<Node> nodes;  // sorted by name, unique
};

Bytes EncodeTree(const Tree& tree);
Result<Tree> DecodeTree(ByteSpan data);

struct Summary {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t bytes_read = 0;    // file content read from disk
  uint64_t bytes_added = 0;   // plaintext of new blobs
  uint64_t bytes_stored = 0;  // encrypted bytes of new blobs
  uint64_t total_files = 0, total_bytes = 0;
  double duration_s = 0;
};

// The integer counters of Summary by their stored (and --json) names; the one
// list the codec and the CLI's JSON output both use.
struct SummaryCounter {
  const char* name;
  uint64_t Summary::*field;
};
inline constexpr SummaryCounter kSummaryCounters[] = {
    {"files_new", &Summary::files_new},       {"files_changed", &Summary::files_changed},
    {"files_unmodified", &Summary::files_unmodified}, {"dirs_new", &Summary::dirs_new},
    {"dirs_changed", &Summary::dirs_changed}, {"dirs_unmodified", &Summary::dirs_unmodified},
    {"data_blobs", &Summary::data_blobs},     {"tree_blobs", &Summary::tree_blobs},
    {"bytes_read", &Summary::bytes_read},     {"bytes_added", &Summary::bytes_added},
    {"bytes_stored", &Summary::bytes_stored}, {"total_files", &Summary::total_files},
    {"total_bytes", &Summary::total_bytes},
};

struct Snapshot {
  TimeNs time = 0;
  std::string host;
  std::string user;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> paths;  // absolute, as backed up
  std::vector<std::string> tags;
  Id parent;  // zero: none
  Id tree;
  Summary summary;
  std::vector<std::string> partial_files;  // paths that could not be read completely
  std::string program_version;
  Id original;  // set on a copy written by `repair snapshots`: the snapshot it replaces
  // Set on a snapshot written by `copy`: the source snapshot and repository id.
  Id copied_from;
  std::string copied_from_repo;
};

Bytes EncodeSnapshot(const Snapshot& s);
Result<Snapshot> DecodeSnapshot(ByteSpan data);

}  // namespace lb::snapshot
