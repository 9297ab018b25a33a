#include "repo/repository.h"
#include "repo/keyring.h"

#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/scratch.h"

namespace lb::repo {

using storage::FileKind;
using storage::Handle;

namespace {

constexpr const char* kSnapshotAd = "lifeboat snapshot v1";
constexpr size_t kPacksPerIndexFile = 32;

// Compresses into a per-thread buffer (reused: no allocation or zeroing per
// blob); the span stays valid until the thread's next call.
Result<ByteSpan> Compress(ByteSpan in, const CompressionSettings& settings) {
  // Freed when the thread exits (thread pools come and go with each operation).
  static thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                                             ZSTD_freeCCtx);
  static thread_local Scratch out;
  const size_t bound = ZSTD_compressBound(in.size());
  uint8_t* const dst = out.Get(bound);
  if (dst == nullptr) return Internal("zstd: out of memory");
  size_t n;
  if (settings.hash_log == 0 || in.size() <= kLargeBlobCompression) {
    n = ZSTD_compressCCtx(cctx.get(), dst, bound, in.data(), in.size(), settings.level);
  } else {
    // The level's parameters for this size, with hashLog replaced. Parameters
    // stick to the context, so they are reset for every blob.
    ZSTD_CCtx* c = cctx.get();
    n = ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, settings.level);
    if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, settings.hash_log);
    if (!ZSTD_isError(n)) n = ZSTD_compress2(c, dst, bound, in.data(), in.size());
  }
  if (ZSTD_isError(n)) return Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
  return ByteSpan(dst, n);
}

// Decompresses into `out`, which holds raw_length bytes.
Status DecompressTo(ByteSpan in, size_t raw_length, uint8_t* out) {
  static thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                                             ZSTD_freeDCtx);
  size_t n = ZSTD_decompressDCtx(dctx.get(), out, raw_length, in.data(), in.size());
  if (ZSTD_isError(n) || n != raw_length) return Corrupt("blob does not decompress");
  return Status::Ok();
}

}  // namespace

// Loads a content-addressed file and checks it against its name, reading once
// more on a mismatch so that a transient bad read is not taken for damage.
Result<Bytes> LoadVerified(storage::Backend& be, const Handle& h) {
  for (int attempt = 0;; ++attempt) {
    LB_ASSIGN_OR_RETURN(Bytes file, be.Load(h));
    if (crypto::Sha256(file).Hex() == h.name) return file;
    if (attempt == 1)
      return Corrupt(std::string(storage::FileKindDir(h.kind)) + " file " + h.name.substr(0, 8) +
                     " does not match its name (damaged)");
  }
}

uint64_t ChunkerSeed(const MasterKeys& keys) {
  Id h = crypto::HmacSha256(keys.id_key, AsBytes("lifeboat chunker seed"));
  uint64_t seed;
  std::memcpy(&seed, h.b.data(), sizeof seed);
  return seed;
}

Repository::Repository(std::unique_ptr<storage::Backend> backend, Config config, MasterKeys keys,
                       std::string key_id, const crypto::Key& sign_seed)
    : backend_(std::move(backend)),
      config_(std::move(config)),
      keys_(std::move(keys)),
      key_id_(std::move(key_id)),
      sign_seed_(sign_seed),
      chunker_(config_.chunker, ChunkerSeed(keys_)) {}

Repository::~Repository() {
  for (auto& [id, k] : pack_keys_) crypto::Wipe(k);
  for (auto& d : keys_.data_keys) crypto::Wipe(d.pair.secret_key);
  crypto::Wipe(keys_.id_key);
  crypto::Wipe(keys_.meta_key);
  crypto::Wipe(sign_seed_);
}

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<storage::Backend> backend,
                                                     const std::string& password,
                                                     const InitOptions& options) {
  LB_RETURN_IF_ERROR(crypto::Init());
  LB_RETURN_IF_ERROR(options.chunker.Validate());
  auto existing = backend->Size({FileKind::kConfig, "config"});
  if (existing.ok())
    return Status(Code::kAlreadyExists, "a repository already exists at " + backend->Location());
  if (existing.status().code() != Code::kNotFound) return existing.status();
  LB_RETURN_IF_ERROR(backend->Create());

  MasterKeys keys = MasterKeys::Generate();
  if (options.id_key) keys.id_key = *options.id_key;
  LB_ASSIGN_OR_RETURN(auto encoded, EncodeKeyFileWithSigner(keys, password, options.kdf, options.who));
  const std::string& key_text = encoded.first;
  const std::string key_id = crypto::Sha256(AsBytes(key_text)).Hex();
  Config config;
  Bytes rid(32);
  crypto::RandomBytes(rid);
  config.id = HexEncode(rid);
  config.chunker = options.chunker;
  config.pack_size = options.pack_size;
  config.created = options.who.created;
  // Key first: a config without a key would be a repository nobody can open.
  LB_RETURN_IF_ERROR_CTX(backend->Save({FileKind::kKey, key_id}, AsBytes(key_text)), "save key");
  LB_RETURN_IF_ERROR_CTX(backend->Save({FileKind::kConfig, "config"}, AsBytes(EncodeConfig(config))),
                         "save config");
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), std::move(config), std::move(keys), key_id, encoded.second));
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<storage::Backend> backend,
                                                     const std::string& password,
                                                     const OpenOptions& options) {
  LB_RETURN_IF_ERROR(crypto::Init());
  auto config_bytes = backend->Load({FileKind::kConfig, "config"});
  if (!config_bytes.ok()) {
    if (config_bytes.status().code() == Code::kNotFound)
      return NotFound("repository " + backend->Location() + " does not exist");
    return config_bytes.status().WithContext("read config");
  }
  auto decoded = DecodeConfig(ToString(*config_bytes));
  if (!decoded.ok() && decoded.status().code() == Code::kCorrupt) {
    config_bytes = backend->Load({FileKind::kConfig, "config"});  // a transient bad read?
    if (config_bytes.ok()) decoded = DecodeConfig(ToString(*config_bytes));
  }
  LB_ASSIGN_OR_RETURN_CTX(Config config, std::move(decoded), "read config");

  std::vector<std::string> key_names;
  LB_RETURN_IF_ERROR_CTX(backend->List(FileKind::kKey,
                                       [&](const std::string& name, uint64_t) {
                                         key_names.push_back(name);
                                         return Status::Ok();
                                       }),
                         "list keys");
  if (key_names.empty()) return Corrupt("repository has no key files");
  Status last = Status(Code::kWrongPassword, "wrong password: no key file opens with it");
  for (const auto& name : key_names) {
    auto text = LoadVerified(*backend, {FileKind::kKey, name});
    if (!text.ok()) {
      last = text.status().WithContext("read key " + name);
      continue;
    }
    auto keys = OpenKeyFileWithSigner(ToString(*text), password);
    if (keys.ok()) {
      std::unique_ptr<Repository> repo(new Repository(std::move(backend), std::move(config),
                                                      std::move(keys->keys), name, keys->sign_seed));
      repo->tolerate_damaged_index_ = options.tolerate_damaged_index;
      if (!options.index_cache.empty())
        repo->index_cache_ = options.index_cache + "/" + repo->config_.id + "/index";
      LB_RETURN_IF_ERROR_CTX(repo->ApplyKeyring(), "load keyring");
      LB_RETURN_IF_ERROR_CTX(repo->LoadIndex(), "load index");
      return repo;
    }
    if (keys.status().code() != Code::kWrongPassword) last = keys.status().WithContext("key " + name);
  }
  if (last.code() == Code::kWrongPassword)
    return Status(Code::kWrongPassword, "wrong password: no key file opens with it");
  return last;
}

namespace {

Status WriteCacheFile(const std::string& path, ByteSpan data) {
  if (::access(path.c_str(), F_OK) == 0) return Status::Ok();
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return ErrnoStatus("write cache " + tmp, errno);
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  if (std::fclose(f) != 0 || !ok) return IoError("write cache " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("write cache " + path, errno);
  return Status::Ok();
}

Result<Bytes> ReadCacheFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return errno == ENOENT ? NotFound(path) : ErrnoStatus("read cache " + path, errno);
  Bytes out;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

}  // namespace

Result<Bytes> Repository::LoadIndexFileBytes(const std::string& name) {
  if (index_cache_.empty()) return LoadVerified(*backend_, {FileKind::kIndex, name});
  const std::string cached = index_cache_ + "/" + name;
  if (auto c = ReadCacheFile(cached); c.ok()) {
    if (crypto::Sha256(*c).Hex() == name) return c;
    std::error_code ec;
    std::filesystem::remove(cached, ec);  // damaged copy: replaced below
  }
  LB_ASSIGN_OR_RETURN(Bytes file, LoadVerified(*backend_, {FileKind::kIndex, name}));
  (void)WriteCacheFile(cached, file);  // only a cache: the next open downloads it again
  return file;
}

// Removes cached index files that are no longer in the repository (superseded by
// prune or repair), and leftovers of interrupted cache writes.
void Repository::PruneIndexCache(const std::vector<std::string>& names) const {
  std::error_code ec;
  const std::unordered_set<std::string> keep(names.begin(), names.end());
  for (const auto& e : std::filesystem::directory_iterator(index_cache_, ec)) {
    if (keep.count(e.path().filename().string()) == 0) std::filesystem::remove(e.path(), ec);
  }
}

Status Repository::LoadIndexFile(const std::string& name,
                                 std::vector<std::pair<Id, IndexFile>>& files,
                                 std::unordered_set<Id, IdHash>& superseded) {
  LB_ASSIGN_OR_RETURN(Bytes file, LoadIndexFileBytes(name));
  // LoadIndexFileBytes checked that the name is the file's SHA-256.
  LB_ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
  LB_ASSIGN_OR_RETURN_CTX(IndexFile idx, DecodeIndexFile(keys_, file), "index " + name.substr(0, 8));
  superseded.insert(idx.supersedes.begin(), idx.supersedes.end());
  files.emplace_back(id, std::move(idx));
  return Status::Ok();
}

Status Repository::LoadIndex() {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend_->List(FileKind::kIndex, [&](const std::string& n, uint64_t) {
    names.push_back(n);
    return Status::Ok();
  }));
  std::vector<std::pair<Id, IndexFile>> files;
  std::unordered_set<Id, IdHash> superseded;
  index_names_ = names;
  if (!index_cache_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(index_cache_, ec);
    if (ec) index_cache_.clear();  // no cache then
    else PruneIndexCache(names);
  }
  for (const auto& name : names) {
    Status st = LoadIndexFile(name, files, superseded);
    if (st.ok()) continue;
    if (!tolerate_damaged_index_)
      return st.WithContext("run 'lifeboat repair index' to rebuild it from the packs");
    damaged_index_.emplace_back(name, st);
  }
  // An index file named as superseded by another (written by prune or repair) is
  // ignored even if its removal did not complete.
  for (auto& [id, idx] : files) {
    if (superseded.count(id)) continue;
    for (auto& p : idx.packs) index_.AddPack(std::move(p));
  }
  return Status::Ok();
}

Id Repository::BlobId(ByteSpan plaintext) const { return crypto::HmacSha256(keys_.id_key, plaintext); }

bool Repository::HasBlob(const Id& id) const {
  if (index_.Has(id)) return true;
  std::lock_guard<std::mutex> l(pending_mu_);
  return pending_.count(id) > 0;
}


Status Repository::UseOwnCache(const std::string& dir) {
  if (!keys_.append_only) return Status::Ok();
  std::error_code ec;
  for (const char* sub : {"/trees", "/snapshots"}) {
    std::filesystem::create_directories(dir + sub, ec);
    if (ec) return IoError("create " + dir + sub + ": " + ec.message());
  }
  own_cache_ = dir;
  return Status::Ok();
}

Result<SaveResult> Repository::SaveBlob(BlobKind kind, const Id& id, ByteSpan plaintext) {
  if (kind == BlobKind::kTree && !own_cache_.empty())
    LB_RETURN_IF_ERROR(WriteCacheFile(own_cache_ + "/trees/" + id.Hex(), plaintext));
  if (index_.Has(id)) return SaveResult{};
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    if (!pending_.insert(id).second) return SaveResult{};
  }
  return StoreBlob(kind, id, plaintext);
}

Result<SaveResult> Repository::SaveBlobAgain(BlobKind kind, const Id& id, ByteSpan plaintext) {
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    if (!pending_.insert(id).second) return SaveResult{};
  }
  return StoreBlob(kind, id, plaintext);
}

Result<SaveResult> Repository::StoreBlob(BlobKind kind, const Id& id, ByteSpan plaintext) {
  Compression comp = Compression::kNone;
  ByteSpan stored = plaintext;
  if (write_options_.compression.level > 0 && plaintext.size() >= 64) {
    LB_ASSIGN_OR_RETURN(ByteSpan compressed, Compress(plaintext, write_options_.compression));
    // Keep compression only when it saves at least 1/32 of the size.
    if (compressed.size() + plaintext.size() / 32 < plaintext.size()) {
      comp = Compression::kZstd;
      stored = compressed;
    }
  }
  // One pack is open at a time and blobs are sealed into it under pack_mu_
  // (AES-GCM runs at several GB/s, so the lock is held briefly); a full pack is
  // taken out and written by the thread that filled it while the others go on
  // with a new one. One open pack instead of one per thread keeps 16 MiB per
  // thread out of the peak memory. A pack is cut before the blob that would take
  // it past pack_size, so its buffer, reserved once at pack_size, never grows
  // (only a blob larger than a pack makes a larger one). The thread that cuts a
  // pack writes it before it opens another, so there are never more pack
  // buffers than threads storing blobs (they are reused, see spare_pack_buffers_).
  const SaveResult r{true, stored.size() + crypto::kAeadOverhead};
  // With WriteOptions::max_pack_buffers set, a thread that needs a new pack
  // while that many are open or being written waits for a write to finish.
  for (bool added = false; !added;) {
    std::unique_ptr<PackBuilder> full;
    {
      std::unique_lock<std::mutex> l(pack_mu_);
      const unsigned cap = write_options_.max_pack_buffers;
      if (free_packs_.empty() && cap > 0 && pack_buffers_ >= cap) {
        pack_cv_.wait(l);
        continue;
      }
      if (!free_packs_.empty() &&
          free_packs_.back()->FinishedSizeWith(stored.size()) > config_.pack_size) {
        full = std::move(free_packs_.back());
        free_packs_.pop_back();
      } else {
        if (free_packs_.empty()) free_packs_.push_back(NewPackLocked());
        PackBuilder& pack = *free_packs_.back();
        pack.Add(id, kind, comp, static_cast<uint32_t>(plaintext.size()), stored);
        added = true;
        if (pack.FinishedSize() >= config_.pack_size) {
          full = std::move(free_packs_.back());
          free_packs_.pop_back();
        }
      }
    }
    if (full) LB_RETURN_IF_ERROR(WritePack(std::move(full)));
  }
  return r;
}

std::unique_ptr<PackBuilder> Repository::NewPackLocked() {
  Bytes buffer;
  if (!spare_pack_buffers_.empty()) {
    buffer = std::move(spare_pack_buffers_.back());
    spare_pack_buffers_.pop_back();
  }
  ++pack_buffers_;
  return std::make_unique<PackBuilder>(keys_.Current(), config_.pack_size, std::move(buffer));
}

void Repository::ReturnPackBuffer(Bytes* buffer) {
  {
    std::lock_guard<std::mutex> l(pack_mu_);
    if (buffer != nullptr) spare_pack_buffers_.push_back(std::move(*buffer));
    --pack_buffers_;
  }
  pack_cv_.notify_all();
}

Status Repository::WritePack(std::unique_ptr<PackBuilder> pack) {
  if (!pack) return Status::Ok();
  if (pack->count() == 0) {
    ReturnPackBuffer(nullptr);
    return Status::Ok();
  }
  PackInfo info;
  Bytes bytes = pack->Finish(info);
  Status st = backend_->Save({FileKind::kData, info.id.Hex()}, bytes);
  if (!st.ok() && st.code() != Code::kAlreadyExists) {
    ReturnPackBuffer(nullptr);
    return st.WithContext("save pack " + info.id.Short());
  }
  ReturnPackBuffer(&bytes);
  bool write_index = false;
  {
    std::lock_guard<std::mutex> l(index_mu_);
    unindexed_.push_back(info);
    written_.push_back(info);
    write_index = unindexed_.size() >= kPacksPerIndexFile;
  }
  index_.AddPack(std::move(info));
  if (write_index) return WritePendingIndex();
  return Status::Ok();
}

Status Repository::WritePendingIndex() {
  IndexFile idx;
  {
    std::lock_guard<std::mutex> l(index_mu_);
    idx.packs = std::move(unindexed_);
    unindexed_.clear();
  }
  if (idx.packs.empty()) return Status::Ok();
  Bytes file = EncodeIndexFile(keys_, idx);
  Status st = backend_->Save({FileKind::kIndex, crypto::Sha256(file).Hex()}, file);
  if (!st.ok() && st.code() != Code::kAlreadyExists) return st.WithContext("save index");
  return Status::Ok();
}

Status Repository::Flush() {
  std::vector<std::unique_ptr<PackBuilder>> packs;
  {
    std::lock_guard<std::mutex> l(pack_mu_);
    packs.swap(free_packs_);
  }
  for (auto& p : packs) LB_RETURN_IF_ERROR(WritePack(std::move(p)));
  {
    std::lock_guard<std::mutex> l(pack_mu_);
    spare_pack_buffers_.clear();  // a long-lived process does not keep them
  }
  return WritePendingIndex();
}

Result<std::unordered_map<Id, uint64_t, IdHash>> Repository::ListPacks() {
  std::unordered_map<Id, uint64_t, IdHash> out;
  LB_RETURN_IF_ERROR_CTX(backend_->List(FileKind::kData,
                                        [&](const std::string& n, uint64_t size) {
                                          auto id = Id::FromHex(n);
                                          if (id.ok()) out[*id] = size;
                                          return Status::Ok();
                                        }),
                         "list packs");
  return out;
}

std::vector<Id> Repository::DropMissingPacks(const std::unordered_map<Id, uint64_t, IdHash>& present) {
  std::unordered_set<Id, IdHash> missing;
  index_.ForEachPack([&](const PackInfo& p) {
    auto it = present.find(p.id);
    if (it == present.end() || it->second != p.size) missing.insert(p.id);
  });
  if (!missing.empty()) index_.RemovePacks(missing);
  return std::vector<Id>(missing.begin(), missing.end());
}

Result<size_t> Repository::AdoptUnindexedPacks(const std::unordered_map<Id, uint64_t, IdHash>& present) {
  std::vector<PackInfo> adopted;
  for (const auto& [id, size] : present) {
    if (index_.HasPack(id)) continue;
    auto bytes = backend_->Load({FileKind::kData, id.Hex()});
    if (!bytes.ok() || crypto::Sha256(*bytes) != id) continue;  // damaged: prune's business
    auto info = ReadPackHeader(keys_, id, *bytes);
    if (!info.ok()) continue;
    adopted.push_back(*info);
    index_.AddPack(std::move(info).value());
  }
  if (adopted.empty()) return size_t{0};
  IndexFile idx;
  idx.packs = adopted;
  Bytes file = EncodeIndexFile(keys_, idx);
  Status st = backend_->Save({FileKind::kIndex, crypto::Sha256(file).Hex()}, file);
  if (!st.ok() && st.code() != Code::kAlreadyExists) return st.WithContext("save index");
  return adopted.size();
}

std::vector<PackInfo> Repository::written_packs() {
  std::lock_guard<std::mutex> l(index_mu_);
  return written_;
}

Result<std::vector<std::string>> Repository::WriteIndex(const std::vector<PackInfo>& packs,
                                                        const std::vector<std::string>& supersedes) {
  IndexFile base;
  for (const auto& name : supersedes) {
    auto id = Id::FromHex(name);
    if (id.ok()) base.supersedes.push_back(*id);
  }
  std::vector<std::string> names;
  size_t i = 0;
  do {
    IndexFile idx;
    idx.supersedes = base.supersedes;
    for (size_t n = 0; i < packs.size() && n < 256; ++i, ++n) idx.packs.push_back(packs[i]);
    Bytes file = EncodeIndexFile(keys_, idx);
    std::string name = crypto::Sha256(file).Hex();
    Status st = backend_->Save({FileKind::kIndex, name}, file);
    if (!st.ok() && st.code() != Code::kAlreadyExists) return st.WithContext("save index");
    names.push_back(name);
  } while (i < packs.size());
  return names;
}

Result<crypto::Key> Repository::PackKey(const PackInfo& pack) {
  {
    std::lock_guard<std::mutex> l(key_cache_mu_);
    auto it = pack_keys_.find(pack.id);
    if (it != pack_keys_.end()) return it->second;
  }
  LB_ASSIGN_OR_RETURN(crypto::Key k, OpenPackKey(keys_, pack.key_version, pack.sealed_key));
  std::lock_guard<std::mutex> l(key_cache_mu_);
  pack_keys_[pack.id] = k;
  return k;
}

Result<Bytes> Repository::OpenBlob(const PackInfo& pack, const BlobEntry& e, ByteSpan sealed) {
  LB_ASSIGN_OR_RETURN(ByteSpan plain, OpenBlobView(pack, e, sealed));
  return Bytes(plain.begin(), plain.end());
}

Result<ByteSpan> Repository::OpenBlobView(const PackInfo& pack, const BlobEntry& e,
                                          ByteSpan sealed) {
  return OpenBlobAt(pack, e, sealed, nullptr);
}

Result<ByteSpan> Repository::OpenBlobInPlace(const PackInfo& pack, const BlobEntry& e,
                                             std::span<uint8_t> sealed) {
  return OpenBlobAt(pack, e, sealed,
                    sealed.size() >= crypto::kAeadOverhead ? sealed.data() + crypto::kNonceBytes : nullptr);
}

Result<ByteSpan> Repository::OpenBlobAt(const PackInfo& pack, const BlobEntry& e, ByteSpan sealed,
                                        uint8_t* stored) {
  static thread_local Scratch opened, decompressed;
  // Named only on an error: this runs for every blob read.
  auto what = [&] {
    return std::string(BlobKindName(e.kind)) + " blob " + e.id.Short() + " in pack " + pack.id.Short();
  };
  LB_ASSIGN_OR_RETURN_CTX(crypto::Key key, PackKey(pack), what());
  if (sealed.size() < crypto::kAeadOverhead) return Corrupt(what() + ": ciphertext too short");
  const size_t stored_len = sealed.size() - crypto::kAeadOverhead;
  if (stored == nullptr) stored = opened.Get(stored_len);
  if (stored == nullptr) return Internal(what() + ": out of memory");
  LB_RETURN_IF_ERROR_CTX(crypto::OpenTo(key, sealed, BlobAd(e.id, e.kind), stored), what());
  ByteSpan plain(stored, stored_len);
  if (e.compression == Compression::kZstd) {
    uint8_t* raw = decompressed.Get(e.raw_length);
    if (raw == nullptr) return Internal(what() + ": out of memory");
    LB_RETURN_IF_ERROR_CTX(DecompressTo(plain, e.raw_length, raw), what());
    plain = ByteSpan(raw, e.raw_length);
  }
  if (plain.size() != e.raw_length) return Corrupt(what() + ": wrong length");
  if (BlobId(plain) != e.id) return Corrupt(what() + ": content does not match its id");
  return plain;
}

Result<Bytes> Repository::LoadBlob(const Id& id) {
  if (keys_.append_only) {
    if (own_cache_.empty())
      return Status(Code::kPermission, "the key in use is append-only: it can add backups but not read them");
    auto cached = ReadCacheFile(own_cache_ + "/trees/" + id.Hex());
    if (!cached.ok())
      return Status(Code::kPermission, "blob " + id.Short() +
                                           " was not written by this append-only client, which cannot read it");
    if (BlobId(*cached) != id) return Corrupt("cached tree " + id.Short() + " does not match its id");
    return cached;
  }
  std::vector<BlobLocation> locs = index_.FindAll(id);
  if (locs.empty()) return NotFound("blob " + id.Short() + " is not in the index");
  Status first;
  // Try every stored copy: one may sit in a lost or damaged pack.
  for (const BlobLocation& loc : locs) {
    auto sealed = backend_->Load({FileKind::kData, loc.pack->id.Hex()}, loc.entry.offset,
                                 loc.entry.length);
    Result<Bytes> plain = sealed.ok() ? OpenBlob(*loc.pack, loc.entry, *sealed)
                                      : Result<Bytes>(sealed.status().WithContext(
                                            "load pack " + loc.pack->id.Short()));
    if (!plain.ok() && plain.status().code() == Code::kCorrupt) {
      // Read once more before calling it damage: the bad bytes may have been a
      // transient fault of the medium or the network.
      sealed = backend_->Load({FileKind::kData, loc.pack->id.Hex()}, loc.entry.offset, loc.entry.length);
      if (sealed.ok()) {
        auto again = OpenBlob(*loc.pack, loc.entry, *sealed);
        if (again.ok()) return again;
      }
    }
    if (plain.ok()) return plain;
    if (first.ok()) first = plain.status();
  }
  return first;
}

Result<Id> Repository::SaveSnapshotFile(ByteSpan payload) {
  Bytes file = SealFile(keys_.Current(), payload, AsBytes(kSnapshotAd));
  Id id = crypto::Sha256(file);
  LB_RETURN_IF_ERROR_CTX(backend_->Save({FileKind::kSnapshot, id.Hex()}, file), "save snapshot");
  if (!own_cache_.empty()) LB_RETURN_IF_ERROR(WriteCacheFile(own_cache_ + "/snapshots/" + id.Hex(), payload));
  return id;
}

Result<Bytes> Repository::LoadSnapshotFile(const Id& id) {
  if (keys_.append_only) {
    auto cached = own_cache_.empty() ? Result<Bytes>(NotFound("")) : ReadCacheFile(own_cache_ + "/snapshots/" + id.Hex());
    if (!cached.ok())
      return Status(Code::kPermission, "snapshot " + id.Short() +
                                           " was not written by this append-only client, which cannot read it");
    return cached;
  }
  LB_ASSIGN_OR_RETURN_CTX(Bytes file, LoadVerified(*backend_, {FileKind::kSnapshot, id.Hex()}),
                          "snapshot " + id.Short());
  return OpenFile(keys_, file, AsBytes(kSnapshotAd));
}

Result<std::vector<Id>> Repository::ListSnapshotIds() {
  std::vector<Id> ids;
  LB_RETURN_IF_ERROR(backend_->List(FileKind::kSnapshot, [&](const std::string& n, uint64_t) {
    auto id = Id::FromHex(n);
    if (id.ok()) ids.push_back(*id);
    return Status::Ok();
  }));
  if (keys_.append_only) {  // only the ones this client can read
    std::erase_if(ids, [&](const Id& id) {
      return own_cache_.empty() || ::access((own_cache_ + "/snapshots/" + id.Hex()).c_str(), F_OK) != 0;
    });
  }
  return ids;
}

Result<std::vector<KeyInfo>> Repository::ListKeys() {
  std::vector<KeyInfo> out;
  LB_RETURN_IF_ERROR(backend_->List(FileKind::kKey, [&](const std::string& n, uint64_t) {
    KeyInfo k;
    k.id = n;
    k.current = n == key_id_;
    out.push_back(k);
    return Status::Ok();
  }));
  for (auto& k : out) {
    LB_ASSIGN_OR_RETURN(Bytes text, backend_->Load({FileKind::kKey, k.id}));
    LB_ASSIGN_OR_RETURN(k.info, ReadKeyFileInfo(ToString(text)));
  }
  return out;
}

Result<std::string> Repository::AddKey(const std::string& password, const KdfParams& kdf,
                                       const KeyFileInfo& who, bool append_only) {
  if (keys_.append_only) return Status(Code::kPermission, "an append-only key cannot add keys");
  LB_ASSIGN_OR_RETURN(auto added, WriteKeyFile(password, kdf, who, append_only));
  return added.first;
}

Result<std::pair<std::string, crypto::Key>> Repository::WriteKeyFile(const std::string& password,
                                                                     const KdfParams& kdf,
                                                                     const KeyFileInfo& who, bool append_only) {
  LB_ASSIGN_OR_RETURN(auto encoded,
                      EncodeKeyFileWithSigner(append_only ? keys_.AppendOnly() : keys_, password, kdf, who));
  std::string id = crypto::Sha256(AsBytes(encoded.first)).Hex();
  LB_RETURN_IF_ERROR_CTX(backend_->Save({FileKind::kKey, id}, AsBytes(encoded.first)), "save key");
  return std::make_pair(id, encoded.second);
}

Status Repository::ApplyKeyring() {
  version_created_[1] = config_.created;
  LB_RETURN_IF_ERROR(backend_->List(FileKind::kKeyring, [&](const std::string& n, uint64_t) {
    keyring_names_.push_back(n);
    return Status::Ok();
  }));
  std::vector<KeyringEntry> entries;
  for (const auto& n : keyring_names_) {
    auto text = LoadVerified(*backend_, {FileKind::kKeyring, n});
    auto e = text.ok() ? ParseKeyringEntry(ToString(*text)) : Result<KeyringEntry>(text.status());
    if (!e.ok()) {
      damaged_keyring_.emplace_back(n, e.status());
      continue;
    }
    if (e->retired_below) {
      retired_below_ = std::max(retired_below_, e->retired_below);
      continue;
    }
    version_created_[e->version] = e->created;
    entries.push_back(std::move(e).value());
  }
  if (keys_.data_keys.back().version < retired_below_)
    return Status(Code::kPermission, "this key was retired by 'key rotate --reencrypt' (it holds no data key "
                                     "version from " + std::to_string(retired_below_) + " on); ask for a new key");
  if (keys_.append_only) return Status::Ok();  // no secret unlocks anything
  // Unlock the chain: an entry opens once the version it is wrapped with is known.
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& e : entries) {
      if (keys_.Find(e.version)) continue;
      const DataKey* wrap = keys_.Find(e.wrapped_with);
      if (!wrap) continue;
      auto dk = OpenKeyringEntry(e, *wrap);
      if (!dk.ok()) {
        damaged_keyring_.emplace_back("version " + std::to_string(e.version), dk.status());
        continue;
      }
      auto pos = std::find_if(keys_.data_keys.begin(), keys_.data_keys.end(),
                              [&](const DataKey& d) { return d.version > dk->version; });
      keys_.data_keys.insert(pos, *dk);
      progress = true;
    }
  }
  keys_.current = keys_.data_keys.back().version;  // new data under the newest version
  return Status::Ok();
}

Result<uint32_t> Repository::RotateKey(TimeNs now, bool publish) {
  if (keys_.append_only) return Status(Code::kPermission, "an append-only key cannot rotate keys");
  uint32_t top = keys_.data_keys.back().version;
  for (const auto& [v, t] : version_created_) top = std::max(top, v);
  DataKey added{top + 1, crypto::GenerateBoxKeyPair()};
  if (publish) {
    const std::string text = EncodeKeyringEntry(added, keys_.Current(), now);
    const std::string name = crypto::Sha256(AsBytes(text)).Hex();
    LB_RETURN_IF_ERROR_CTX(backend_->Save({FileKind::kKeyring, name}, AsBytes(text)), "save keyring entry");
    keyring_names_.push_back(name);
  }
  keys_.data_keys.push_back(added);
  keys_.current = added.version;
  version_created_[added.version] = now;
  return added.version;
}

TimeNs Repository::VersionCreated(uint32_t version) const {
  auto it = version_created_.find(version);
  return it == version_created_.end() ? 0 : it->second;
}

Status Repository::RetireOldVersions(TimeNs now) {
  if (keys_.append_only) return Status(Code::kPermission, "an append-only key cannot retire keys");
  const DataKey keep = keys_.Current();
  for (auto& d : keys_.data_keys)
    if (d.version != keep.version) crypto::Wipe(d.pair.secret_key);
  keys_.data_keys = {keep};
  // The marker first: from here on, key files with only older versions refuse to open.
  const std::string marker = EncodeRetirement(keep.version, now);
  const std::string marker_name = crypto::Sha256(AsBytes(marker)).Hex();
  Status saved = backend_->Save({FileKind::kKeyring, marker_name}, AsBytes(marker));
  if (!saved.ok() && saved.code() != Code::kAlreadyExists) return saved.WithContext("save retirement marker");
  for (const auto& n : keyring_names_) {
    Status st = backend_->Remove({FileKind::kKeyring, n});
    if (!st.ok() && st.code() != Code::kNotFound) return st.WithContext("remove keyring entry " + n.substr(0, 8));
  }
  keyring_names_ = {marker_name};
  retired_below_ = keep.version;
  return Status::Ok();
}

Status Repository::RemoveKey(const std::string& id) {
  if (keys_.append_only) return Status(Code::kPermission, "an append-only key cannot remove keys");
  if (id == key_id_)
    return InvalidArgument("refusing to remove the key in use (open with another password)");
  return backend_->Remove({FileKind::kKey, id});
}

Result<std::string> Repository::ChangePassword(const std::string& password, const KdfParams& kdf,
                                               const KeyFileInfo& who) {
  if (keys_.append_only) return Status(Code::kPermission, "an append-only key cannot change keys");
  LB_ASSIGN_OR_RETURN(auto added, WriteKeyFile(password, kdf, who, false));
  // The new key is stored before the old one goes, so a crash leaves two keys, never none.
  LB_RETURN_IF_ERROR_CTX(backend_->Remove({FileKind::kKey, key_id_}), "remove old key");
  key_id_ = added.first;
  sign_seed_ = added.second;
  return added.first;
}

}  // namespace lb::repo
