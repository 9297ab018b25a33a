// ErasureBackend: one repository spread over k+m member backends with a
// Reed-Solomon code, so that any m members may be lost or unreachable and every
// file still reads back. Shard i of every file lives on member i under the file's
// own Handle (format: erasure_shard.h, docs/format.md).
//
// Semantics on top of the Backend contract (backend.h):
// - Save writes the k+m shards in parallel and succeeds when at least
//   WriteQuorum(kind) of them were stored: k+1 for files that hold repository data
//   (a stored file always survives one more loss; a backup continues with up to
//   m-1 members down), k for lock files (ephemeral; a restore or check must be able
//   to lock a repository that has lost m members). Below the quorum, the shards it
//   wrote are removed again and Save fails. Shards a member could not take are
//   missing: Inspect reports them and RepairAll rebuilds them.
//   Save is kAlreadyExists when k shards of the name are present; fewer leftover
//   shards (a crashed write) are replaced. Concurrent Saves of one name in one
//   process are serialized, so exactly one wins. Across processes, names are
//   content-addressed (or random for locks), so racing writers store equal bytes.
// - Load of the whole file reads the k data shards, verifies their SHA-256, and
//   reconstructs from parity when one is missing, unreadable or damaged (the
//   rebuilt file is checked against the file hash in the shard headers). A ranged
//   Load reads only the ranges of the 1-2 data shards it needs and rebuilds a
//   range of a missing shard from the same range of k others. Ranged reads cannot
//   verify shard hashes: when a caller reads the same range again (the repository
//   does so when a blob fails to decrypt), it is served only from shards that were
//   read whole and verified (once per file and shard; damaged ones are skipped and
//   the range rebuilt from verified ones).
// - Load/Size of a name no member holds is kNotFound; a file with fewer than k
//   intact shards is kCorrupt ("lost"), or kIoError when unreachable members may
//   still hold enough shards.
// - List reports a name when k of its shards are listed, with the original size.
//   It fails (never a short list) when more than m members fail to list, or when a
//   name has too few listed shards but failing members could hold the rest.
// - Remove removes every shard; kNotFound only when no member held one.
// Thread safety: all methods may be called concurrently; members must be safe for
// concurrent use too. Owns its members.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/backend.h"
#include "storage/erasure_codec.h"
#include "storage/erasure_shard.h"

namespace lb::storage {

// Shard counts of one member over the inspected files.
struct MemberRedundancy {
  std::string location;
  uint64_t present = 0;      // intact shards
  uint64_t missing = 0;      // no shard where one belongs
  uint64_t damaged = 0;      // bad header, wrong length, hash mismatch, or a stale version
  uint64_t unreachable = 0;  // the member failed to list or read
  std::string error;         // first error that made a shard unreachable
};

struct RedundancyReport {
  int k = 0, m = 0;
  std::vector<MemberRedundancy> members;  // one per member, in member order
  uint64_t files = 0;                     // files with at least k intact shards
  std::vector<Handle> degraded;           // of those, files with fewer than k+m
  std::vector<Handle> lost;               // names with 1..k-1 intact shards: unreadable

  bool whole() const { return degraded.empty() && lost.empty(); }
};

struct InspectOptions {
  // Kinds to inspect. Locks are ephemeral and left out by default.
  std::vector<FileKind> kinds = {FileKind::kConfig, FileKind::kKey, FileKind::kIndex,
                                 FileKind::kSnapshot, FileKind::kData};
  bool verify_payload = false;  // read every shard whole and check its SHA-256
  unsigned threads = 4;         // files inspected at once
};

struct RepairStats {
  uint64_t files_repaired = 0;  // files whose every shard is now stored
  uint64_t shards_written = 0;
  uint64_t shards_failed = 0;   // could not be written (member down)
  uint64_t files_lost = 0;      // fewer than k intact shards: cannot be rebuilt
  std::vector<std::string> errors;  // one line each, at most a few dozen
};

class ErasureBackend final : public Backend {
 public:
  // Takes k+m members; member i holds shard i. kInvalidArgument for bad k, m or
  // a member count other than k+m.
  static Result<std::unique_ptr<ErasureBackend>> Make(int k, int m,
                                                      std::vector<std::unique_ptr<Backend>> members);
  ~ErasureBackend() override;

  int k() const { return codec_.k(); }
  int m() const { return codec_.m(); }
  int n() const { return codec_.k() + codec_.m(); }
  std::string MemberLocation(int i) const { return members_[i]->Location(); }
  int WriteQuorum(FileKind kind) const;

  // "ec:K+M:LOC1,LOC2,..."
  std::string Location() const override;
  // The sum of the members' (each member keeps its own).
  size_t KeptDescriptors() const override;
  // Creates every member's layout; fails below the write quorum of data files.
  Status Create() override;
  Status Save(const Handle& h, ByteSpan data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Size(const Handle& h) override;
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override;
  Status Remove(const Handle& h) override;

  // Per-member shard health of every file of o.kinds. Fails only when a listing
  // problem leaves nothing to report (never with unreachable members: those are
  // counted).
  Result<RedundancyReport> Inspect(const InspectOptions& o = {});
  // Rebuilds the missing, damaged or stale shards of one file from k intact ones
  // and stores them on the members that lack them (a damaged shard is removed
  // first). kCorrupt when fewer than k intact shards remain.
  Status RepairFile(const Handle& h, RepairStats& stats);
  // Creates every member's layout (a replaced member may be an empty folder),
  // inspects with payload verification, and repairs every degraded file.
  Result<RepairStats> RepairAll(const InspectOptions& o = {});

  // One member's shard of one file, as read by the implementation.
  enum class ShardState { kOk, kMissing, kDamaged, kUnreachable };
  struct ShardRead {
    ShardState state = ShardState::kMissing;
    ShardHeader header;
    Bytes file;  // the whole shard file when read whole
    Status error;
  };
  // The intact shards of one version of a file.
  struct Group {
    ShardHeader ref;
    std::vector<bool> has;       // per member
    std::vector<bool> verified;  // per member: read whole and its SHA-256 matched
    int count = 0;
  };

 private:
  ErasureBackend(RsCodec codec, std::vector<std::unique_ptr<Backend>> members);

  // Reading shards.
  ShardRead ReadHeader(const Handle& h, int i, uint64_t listed_size = 0);
  ShardRead ReadWhole(const Handle& h, int i);
  std::vector<ShardRead> ReadMany(const Handle& h, const std::vector<int>& idx, bool whole);
  Group BestGroup(const std::vector<ShardRead>& reads) const;
  Status TooFewShards(const Handle& h, const std::vector<ShardRead>& reads, const Group& g) const;
  Result<Group> Meta(const Handle& h);  // cached header consensus of a file
  void Remember(const Handle& h, const Group& g);
  void Forget(const Handle& h);

  // Loading.
  Result<Bytes> LoadWhole(const Handle& h);
  Result<Bytes> Decode(const Handle& h, const std::vector<ShardRead>& reads, const Group& g) const;
  Result<Bytes> LoadRange(const Handle& h, uint64_t offset, uint64_t length);
  // Rebuilds [at, at+len) of shard j from k others; `careful` uses only verified ones.
  Result<Bytes> RebuildRange(const Handle& h, Group& g, int j, uint64_t at, uint64_t len, bool careful);
  // Verifies member i's shard whole (once per file): true when it is intact;
  // a damaged or missing one is dropped from g.
  bool Vouch(const Handle& h, Group& g, int i);
  bool SeenRange(const Handle& h, uint64_t offset, uint64_t length);

  // Saving.
  Status SaveLocked(const Handle& h, ByteSpan data);
  // Stores one shard file on member i; `replace` removes an old one first;
  // `create_layout` creates the member's layout when it is missing (repair only:
  // a normal write never populates what may be an unmounted mount point).
  Status StoreShard(const Handle& h, int i, ByteSpan file, bool replace, bool create_layout);
  Result<uint64_t> ListedSize(const Handle& h, const std::vector<int64_t>& sizes);
  void LockName(const std::string& key);
  void UnlockName(const std::string& key);

  RsCodec codec_;
  std::vector<std::unique_ptr<Backend>> members_;

  std::mutex names_mu_;
  std::condition_variable names_cv_;
  std::set<std::string> saving_;  // names with a Save in progress

  std::mutex cache_mu_;
  std::unordered_map<std::string, Group> meta_;    // file key -> header consensus
  std::unordered_map<std::string, int> ranges_;    // recently served ranges
  std::vector<std::string> range_order_;
  size_t range_next_ = 0;
};

// The key of a file in maps and messages: "<kind dir>/<name>".
std::string FileKey(const Handle& h);

// Runs fn(0..n-1) on up to `threads` threads (the caller's included) and waits.
void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t)>& fn);

}  // namespace lb::storage
