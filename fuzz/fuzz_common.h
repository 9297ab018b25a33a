// Shared helpers for the libFuzzer targets and make_seeds (test code, not shipped).
#pragma once

#include <sodium.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "fs/metadata.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "snapshot/snapshot.h"

// A violated invariant: print it and crash, so libFuzzer saves the input.
#define FUZZ_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                \
    }                                                                                  \
  } while (0)

namespace lb::fuzz {

inline ByteSpan Input(const uint8_t* data, size_t size) { return {data, size}; }
inline std::string InputString(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

inline void InitCrypto() { FUZZ_CHECK(crypto::Init().ok()); }

// With LB_FUZZ_VERBOSE=1 in the environment, prints why an input was rejected
// (handy when checking seeds: fuzz_x -runs=0 corpus/fuzz_x).
inline void Note(const char* what, const Status& s) {
  static const bool verbose = std::getenv("LB_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%s: %s\n", what, s.ok() ? "accepted" : s.ToString().c_str());
}

// Decoders reject bad input with kCorrupt, or kUnsupported for unknown versions.
inline bool IsRejection(const Status& s) {
  return s.code() == Code::kCorrupt || s.code() == Code::kUnsupported;
}

// Deterministic master keys (test data only): seeds that need keys, such as whole
// pack files, are made with these so fuzz_pack_header can open them.
inline repo::MasterKeys FixedKeys() {
  repo::MasterKeys k;
  for (size_t i = 0; i < 32; ++i) {
    k.id_key[i] = static_cast<uint8_t>(i);
    k.meta_key[i] = static_cast<uint8_t>(0x40 + i);
  }
  repo::DataKey dk;
  dk.version = 1;
  uint8_t seed[crypto_box_SEEDBYTES];
  for (size_t i = 0; i < sizeof seed; ++i) seed[i] = static_cast<uint8_t>(0x77 ^ i);
  crypto_box_seed_keypair(dk.pair.public_key.data(), dk.pair.secret_key.data(), seed);
  k.data_keys.push_back(dk);
  k.current = 1;
  return k;
}

inline bool SameKeys(const repo::MasterKeys& a, const repo::MasterKeys& b) {
  if (a.id_key != b.id_key || a.meta_key != b.meta_key || a.current != b.current) return false;
  if (a.data_keys.size() != b.data_keys.size()) return false;
  for (size_t i = 0; i < a.data_keys.size(); ++i) {
    const auto &x = a.data_keys[i], &y = b.data_keys[i];
    if (x.version != y.version || x.pair.public_key != y.pair.public_key ||
        x.pair.secret_key != y.pair.secret_key)
      return false;
  }
  return true;
}

inline bool SameEntry(const repo::BlobEntry& a, const repo::BlobEntry& b) {
  return a.id == b.id && a.kind == b.kind && a.compression == b.compression &&
         a.offset == b.offset && a.length == b.length && a.raw_length == b.raw_length;
}

inline bool SameDouble(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

inline bool SameMeta(const fs::Metadata& a, const fs::Metadata& b) {
  return a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.user == b.user && a.group == b.group && a.size == b.size && a.mtime_ns == b.mtime_ns &&
         a.atime_ns == b.atime_ns && a.ctime_ns == b.ctime_ns && a.inode == b.inode &&
         a.device == b.device && a.nlink == b.nlink && a.rdev == b.rdev &&
         a.symlink_target == b.symlink_target && a.xattrs == b.xattrs;
}

inline bool SameNode(const snapshot::Node& a, const snapshot::Node& b) {
  return a.name == b.name && SameMeta(a.meta, b.meta) && a.content == b.content &&
         a.subtree == b.subtree && a.error == b.error;
}

inline bool SameSummary(const snapshot::Summary& a, const snapshot::Summary& b) {
  return a.files_new == b.files_new && a.files_changed == b.files_changed &&
         a.files_unmodified == b.files_unmodified && a.dirs_new == b.dirs_new &&
         a.dirs_changed == b.dirs_changed && a.dirs_unmodified == b.dirs_unmodified &&
         a.data_blobs == b.data_blobs && a.tree_blobs == b.tree_blobs &&
         a.bytes_read == b.bytes_read && a.bytes_added == b.bytes_added &&
         a.bytes_stored == b.bytes_stored && a.total_files == b.total_files &&
         a.total_bytes == b.total_bytes && SameDouble(a.duration_s, b.duration_s);
}

inline bool SameSnapshot(const snapshot::Snapshot& a, const snapshot::Snapshot& b) {
  return a.time == b.time && a.host == b.host && a.user == b.user && a.uid == b.uid &&
         a.gid == b.gid && a.paths == b.paths && a.tags == b.tags && a.parent == b.parent &&
         a.tree == b.tree && SameSummary(a.summary, b.summary) &&
         a.partial_files == b.partial_files && a.program_version == b.program_version &&
         a.original == b.original;
}

}  // namespace lb::fuzz
