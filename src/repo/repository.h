// Repository: blobs, packs, index, snapshots and keys on top of a Backend.
//
// Write order is packs, then index, then snapshot: a blob becomes visible to
// other processes only after the pack holding it is stored and an index file
// names it. A crash leaves at worst unreferenced packs (garbage for prune).
//
// Thread safety: SaveBlob, LoadBlob, Has* and the snapshot calls may be called
// concurrently (each saving thread fills a pack of its own). Flush must not race
// with SaveBlob.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/id.h"
#include "chunker/chunker.h"
#include "repo/config.h"
#include "repo/index.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "storage/backend.h"

namespace lb::repo {

struct InitOptions {
  chunker::Params chunker;
  // Use this id key (blob ids and chunker seed) instead of a fresh one: set with
  // the source's chunker params by `init --copy-chunker-params`, so blob ids agree
  // between the two repositories and `copy` deduplicates without reading data.
  std::optional<crypto::Key> id_key;
  uint32_t pack_size = 16 * 1024 * 1024;
  KdfParams kdf;
  KeyFileInfo who;
};

// How new blobs are compressed. level 0: stored as they are; 1..22: zstd levels.
// hash_log, when not 0, replaces the level's match-table size (zstd's hashLog) for
// blobs over 256 KiB (kLargeBlobCompression); smaller blobs get zstd's own
// parameters for their size, which already use smaller tables. Either way any zstd
// decoder reads the result: the setting changes only how hard matches are sought.
struct CompressionSettings {
  int level = 0;
  int hash_log = 0;
};

// Blobs over this size get CompressionSettings::hash_log.
constexpr size_t kLargeBlobCompression = 256 * 1024;

// The default: zstd level 2 (the "fast" strategy), with a match table of 2^15
// entries instead of level 2's 2^16 for blobs over 256 KiB (file chunks). Level 2
// costs about a quarter less CPU than level 3 for a repository about 3 % larger on
// the benchmark corpus; the smaller table makes the compression of large chunks
// ~8 % faster again for blobs ~1 % larger (docs/performance.md). Compression is
// the largest stage of a first backup.
constexpr int kDefaultCompressionLevel = 2;
constexpr CompressionSettings kDefaultCompression{kDefaultCompressionLevel, 15};

struct WriteOptions {
  CompressionSettings compression = kDefaultCompression;
  // At most this many pack buffers (16 MiB each by default) at once: the open
  // pack and the full ones being written. A thread that would open another
  // waits until a write finishes. 0: no limit, which is one per thread storing
  // blobs.
  unsigned max_pack_buffers = 0;
};

struct SaveResult {
  bool added = false;        // false: the blob was already stored
  uint64_t stored_bytes = 0;  // encrypted size added (0 when not added)
};

struct OpenOptions {
  // Load what can be loaded when index files are damaged instead of failing; the
  // damaged files are listed by damaged_index_files() (callers should warn).
  bool tolerate_damaged_index = true;
  // When set, index files are also kept in <index_cache>/<repository id>/index/
  // (as stored: encrypted, named by their SHA-256) and read from there on the next
  // open, so a remote repository's index is not downloaded again every run. A
  // cached copy is used only if its SHA-256 matches its name; copies of index
  // files that are gone from the repository are removed. Failing to write the
  // cache is not an error.
  std::string index_cache;
};

struct KeyInfo {
  std::string id;  // key file name
  bool current = false;
  KeyFileInfo info;
};

class Repository {
 public:
  ~Repository();

  // Creates a new repository. kAlreadyExists if a config is present.
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<storage::Backend> backend,
                                                  const std::string& password,
                                                  const InitOptions& options);
  // Opens an existing repository: kNotFound (no config), kWrongPassword (no key file
  // opens), kCorrupt / kUnsupported for a damaged or too new repository.
  // Loads the index.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<storage::Backend> backend,
                                                  const std::string& password,
                                                  const OpenOptions& options = {});

  const Config& config() const { return config_; }
  const MasterKeys& keys() const { return keys_; }
  // The key file this session opened with, and its audit signer (keys.h).
  const std::string& key_id() const { return key_id_; }
  crypto::SignKeyPair audit_signer() const { return crypto::SignKeyPairFromSeed(sign_seed_); }
  storage::Backend& backend() { return *backend_; }
  const Index& index() const { return index_; }
  const chunker::Chunker& chunker() const { return chunker_; }
  // Not while blobs are being stored.
  void set_write_options(const WriteOptions& o) { write_options_ = o; }
  const WriteOptions& write_options() const { return write_options_; }

  // Keyed blob id of a plaintext.
  Id BlobId(ByteSpan plaintext) const;
  // True when the blob is stored or queued in this session.
  bool HasBlob(const Id& id) const;
  // Stores the blob unless known. `id` must be BlobId(plaintext).
  Result<SaveResult> SaveBlob(BlobKind kind, const Id& id, ByteSpan plaintext);
  // Loads, decrypts, decompresses and verifies a blob against its id.
  Result<Bytes> LoadBlob(const Id& id);
  // Decrypts and verifies one blob whose sealed bytes were read by the caller.
  Result<Bytes> OpenBlob(const PackInfo& pack, const BlobEntry& entry, ByteSpan sealed);
  // OpenBlob into buffers of the calling thread, reused from blob to blob (no
  // allocation or zeroing per blob; they grow to the largest blob opened). The span
  // is valid until the same thread's next OpenBlob, OpenBlobView, OpenBlobInPlace
  // or LoadBlob.
  Result<ByteSpan> OpenBlobView(const PackInfo& pack, const BlobEntry& entry, ByteSpan sealed);
  // OpenBlobView that decrypts `sealed` (the caller's) in place, so that it holds
  // garbage afterwards whatever the result: no per-thread buffer for the
  // decrypted bytes. The span of a compressed blob lies in the thread's buffer
  // (valid as OpenBlobView's); that of a blob stored uncompressed is part of
  // `sealed` (valid as long as it is).
  Result<ByteSpan> OpenBlobInPlace(const PackInfo& pack, const BlobEntry& entry, std::span<uint8_t> sealed);
  // Writes the open pack and any index entries not yet written.
  Status Flush();

  // --- maintenance (check, prune, repair) ---
  // Index files that failed to load (name, error); only with tolerate_damaged_index.
  const std::vector<std::pair<std::string, Status>>& damaged_index_files() const {
    return damaged_index_;
  }
  // Names of all index files present when the repository was opened (incl. damaged).
  const std::vector<std::string>& index_file_names() const { return index_names_; }
  // Every pack file in the backend: id -> size.
  Result<std::unordered_map<Id, uint64_t, IdHash>> ListPacks();
  // Drops index entries of packs that are not in `present` (lost packs), so their
  // blobs are stored again instead of deduplicated against. Returns the dropped ids.
  std::vector<Id> DropMissingPacks(const std::unordered_map<Id, uint64_t, IdHash>& present);
  // Adds packs that are stored but in no index (left by a killed backup, or not
  // yet indexed by a running one) to the index, and writes an index file for
  // them, so their content is reused instead of stored again. Packs whose header
  // cannot be read are skipped. Returns how many packs were added.
  Result<size_t> AdoptUnindexedPacks(const std::unordered_map<Id, uint64_t, IdHash>& present);
  // Stores a blob even if the index already has it (repacking).
  Result<SaveResult> SaveBlobAgain(BlobKind kind, const Id& id, ByteSpan plaintext);
  // Packs written by this process since it opened the repository.
  std::vector<PackInfo> written_packs();
  // Writes index files describing exactly `packs`, each naming every index file in
  // `supersedes` as replaced, and returns their names. Callers remove the old files
  // afterwards; a crash in between leaves the old ones ignored by readers.
  Result<std::vector<std::string>> WriteIndex(const std::vector<PackInfo>& packs,
                                              const std::vector<std::string>& supersedes);

  // Append-only keys (keys.h) cannot read trees or snapshots back, so a client
  // using one keeps, in `dir` (created if missing), the plaintext of every tree
  // blob and snapshot it writes; LoadBlob of a tree, LoadSnapshotFile and
  // ListSnapshotIds are then served from there (only snapshots still present in
  // the repository are listed). Set it before writing. No effect for full keys.
  Status UseOwnCache(const std::string& dir);

  // Snapshots are stored as whole files named by the SHA-256 of their bytes.
  Result<Id> SaveSnapshotFile(ByteSpan payload);
  Result<Bytes> LoadSnapshotFile(const Id& id);
  Result<std::vector<Id>> ListSnapshotIds();

  // Keys.
  Result<std::vector<KeyInfo>> ListKeys();
  // append_only: the new key can back up but not read or change keys (keys.h).
  Result<std::string> AddKey(const std::string& password, const KdfParams& kdf,
                             const KeyFileInfo& who, bool append_only = false);
  Status RemoveKey(const std::string& id);  // refuses to remove the key in use
  Result<std::string> ChangePassword(const std::string& password, const KdfParams& kdf,
                                     const KeyFileInfo& who);  // replaces the key in use

  // Key rotation (keyring.h). RotateKey adds a new data key version and makes it
  // current for new data; with `publish` it is written to the keyring (wrapped
  // with the previous current version) so every full key file can read what is
  // written under it. Needs a full key. Returns the new version.
  Result<uint32_t> RotateKey(TimeNs now, bool publish);
  // When each known data key version was created (version 1: the repository).
  TimeNs VersionCreated(uint32_t version) const;
  // Forgets every data key version but the current one (after `key rotate
  // --reencrypt` rewrote all data) and removes the keyring. Callers then
  // rewrite their key file (ChangePassword with the same password).
  // Writes a retirement marker so key files holding only older versions refuse to
  // open (kPermission), and removes the keyring entries.
  Status RetireOldVersions(TimeNs now);
  // Keyring entries that failed to load (name, error); they are skipped.
  const std::vector<std::pair<std::string, Status>>& damaged_keyring() const { return damaged_keyring_; }

 private:
  Repository(std::unique_ptr<storage::Backend> backend, Config config, MasterKeys keys,
             std::string key_id, const crypto::Key& sign_seed);
  Status LoadIndex();
  Status ApplyKeyring();
  Result<std::pair<std::string, crypto::Key>> WriteKeyFile(const std::string& password, const KdfParams& kdf,
                                                           const KeyFileInfo& who, bool append_only);
  Result<Bytes> LoadIndexFileBytes(const std::string& name);
  void PruneIndexCache(const std::vector<std::string>& names) const;
  Status LoadIndexFile(const std::string& name, std::vector<std::pair<Id, IndexFile>>& files,
                       std::unordered_set<Id, IdHash>& superseded);
  Status WritePack(std::unique_ptr<PackBuilder> pack);
  // A new open pack, in a spare buffer when there is one. Needs pack_mu_.
  std::unique_ptr<PackBuilder> NewPackLocked();
  // Gives a pack's buffer back for reuse (null: the pack's buffer is dropped)
  // and wakes a thread waiting for one. Needs pack_mu_ not held.
  void ReturnPackBuffer(Bytes* buffer);
  Status WritePendingIndex();
  Result<SaveResult> StoreBlob(BlobKind kind, const Id& id, ByteSpan plaintext);
  Result<crypto::Key> PackKey(const PackInfo& pack);
  // OpenBlobView with the decrypted bytes put at `stored` (sealed.size() -
  // kAeadOverhead bytes, which may be the ciphertext's own place), or into a
  // buffer of the calling thread when it is null.
  Result<ByteSpan> OpenBlobAt(const PackInfo& pack, const BlobEntry& e, ByteSpan sealed, uint8_t* stored);

  std::unique_ptr<storage::Backend> backend_;
  Config config_;
  MasterKeys keys_;
  std::string key_id_;
  std::string own_cache_;
  std::map<uint32_t, TimeNs> version_created_;
  std::vector<std::string> keyring_names_;
  uint32_t retired_below_ = 0;
  std::vector<std::pair<std::string, Status>> damaged_keyring_;  // append-only keys: plaintext trees and snapshots written here
  crypto::Key sign_seed_{};
  chunker::Chunker chunker_;
  WriteOptions write_options_;
  Index index_;

  mutable std::mutex pending_mu_;
  std::unordered_set<Id, IdHash> pending_;  // saved this session, maybe not yet indexed

  std::mutex pack_mu_;
  std::vector<std::unique_ptr<PackBuilder>> free_packs_;  // the open pack (at most one)
  unsigned pack_buffers_ = 0;  // open and being written (WriteOptions::max_pack_buffers)
  std::condition_variable pack_cv_;  // a pack buffer came back
  // Buffers of written packs, reused by new ones: allocating a pack-sized block
  // for every pack among the chunks' blocks fragmented the heap, and the peak
  // RSS of a large backup grew with its length.
  std::vector<Bytes> spare_pack_buffers_;

  std::mutex index_mu_;
  std::vector<PackInfo> unindexed_;
  std::vector<PackInfo> written_;

  bool tolerate_damaged_index_ = false;
  std::string index_cache_;  // directory of cached index files; empty: none
  std::vector<std::pair<std::string, Status>> damaged_index_;
  std::vector<std::string> index_names_;

  std::mutex key_cache_mu_;
  std::unordered_map<Id, crypto::Key, IdHash> pack_keys_;
};

// Derives the chunker seed from the id key.
uint64_t ChunkerSeed(const MasterKeys& keys);

}  // namespace lb::repo
