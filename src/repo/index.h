// The in-memory master index: blob id -> where it is stored.
//
// Blob ids are uniformly random, so the id -> location map is a flat open-addressing
// table (linear probing, load <= 0.7) of 8-byte slots (pack number, entry number);
// the id itself is read from the pack's BlobEntry when a probe compares. That costs
// about 11 bytes per blob on top of the BlobEntry, against ~80 for a node-based map,
// and needs no allocation per blob.
// Thread safety: all methods are safe to call concurrently (internal mutex).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/id.h"
#include "repo/pack.h"

namespace lb::repo {

struct BlobLocation {
  const PackInfo* pack = nullptr;  // owned by the Index; stable for its lifetime
  BlobEntry entry;
};

class Index {
 public:
  // Adds every blob of the pack. A blob already known keeps its first location.
  void AddPack(PackInfo pack);
  std::optional<BlobLocation> Find(const Id& id) const;
  // Every stored copy of the blob, the primary (Find's) first. Copies exist when a
  // lost pack's content was stored again, or two backups stored a blob at once.
  std::vector<BlobLocation> FindAll(const Id& id) const;
  bool Has(const Id& id) const;
  bool HasPack(const Id& pack_id) const;
  size_t blob_count() const;
  size_t pack_count() const;
  // Removes the packs and their blobs. Invalidates BlobLocation::pack pointers
  // handed out before: call only when no other thread uses the Index.
  void RemovePacks(const std::unordered_set<Id, IdHash>& pack_ids);
  // Calls fn for every pack (under the lock: do not call back into the Index).
  void ForEachPack(const std::function<void(const PackInfo&)>& fn) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<PackInfo>> packs_;
  std::unordered_map<Id, uint32_t, IdHash> pack_pos_;
  struct Slot {
    uint32_t pack;
    uint32_t entry;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t Pack(Slot s) { return uint64_t{s.pack} << 32 | s.entry; }
  static Slot Unpack(uint64_t v) { return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)}; }
  const Id& IdAt(uint64_t slot) const;
  // The table position holding `id`, or the empty position where it would go.
  size_t Probe(const Id& id) const;
  void Grow();  // doubles the table and re-inserts every slot

  std::vector<uint64_t> table_;  // size a power of two (or 0), kEmpty = free
  size_t blob_count_ = 0;
  std::unordered_multimap<Id, Slot, IdHash> copies_;  // further locations (rare)
};

}  // namespace lb::repo
