// ErasureBackend: reading, writing, listing and removing files as k+m shards.
// Inspection and repair are in erasure_repair.cc.
#include "storage/erasure_backend.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

namespace lb::storage {

namespace {

constexpr size_t kMaxCachedFiles = 8192;
constexpr size_t kRememberedRanges = 512;

// Members' errors as shard states: not found = missing, corrupt = damaged.
ErasureBackend::ShardState StateOf(const Status& st) {
  using S = ErasureBackend::ShardState;
  if (st.code() == Code::kNotFound) return S::kMissing;
  if (st.code() == Code::kCorrupt) return S::kDamaged;
  return S::kUnreachable;
}

std::string DescribeMembers(const std::vector<ErasureBackend::ShardRead>& reads) {
  int missing = 0, damaged = 0, unreachable = 0;
  for (const auto& r : reads) {
    missing += r.state == ErasureBackend::ShardState::kMissing;
    damaged += r.state == ErasureBackend::ShardState::kDamaged;
    unreachable += r.state == ErasureBackend::ShardState::kUnreachable;
  }
  return std::to_string(missing) + " missing, " + std::to_string(damaged) + " damaged, " +
         std::to_string(unreachable) + " unreachable";
}

}  // namespace

std::string FileKey(const Handle& h) { return std::string(FileKindDir(h.kind)) + "/" + h.name; }

void ParallelFor(size_t n, unsigned threads, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  const size_t workers = std::min<size_t>(n, std::max(1u, threads));
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
}

// ------------------------------------------------------------------ setup

ErasureBackend::ErasureBackend(RsCodec codec, std::vector<std::unique_ptr<Backend>> members)
    : codec_(std::move(codec)), members_(std::move(members)) {}

ErasureBackend::~ErasureBackend() = default;

Result<std::unique_ptr<ErasureBackend>> ErasureBackend::Make(int k, int m,
                                                             std::vector<std::unique_ptr<Backend>> members) {
  LB_ASSIGN_OR_RETURN(RsCodec codec, RsCodec::Make(k, m));
  if (members.size() != static_cast<size_t>(k + m))
    return InvalidArgument("erasure code " + std::to_string(k) + "+" + std::to_string(m) + " needs " +
                           std::to_string(k + m) + " members, got " + std::to_string(members.size()));
  for (const auto& b : members)
    if (!b) return InvalidArgument("erasure code: a member backend is missing");
  return std::unique_ptr<ErasureBackend>(new ErasureBackend(std::move(codec), std::move(members)));
}

int ErasureBackend::WriteQuorum(FileKind kind) const {
  return kind == FileKind::kLock ? k() : std::min(k() + 1, n());
}

std::string ErasureBackend::Location() const {
  std::string s = "ec:" + std::to_string(k()) + "+" + std::to_string(m()) + ":";
  for (size_t i = 0; i < members_.size(); ++i) s += (i ? "," : "") + members_[i]->Location();
  return s;
}

size_t ErasureBackend::KeptDescriptors() const {
  size_t n = 0;
  for (const auto& member : members_) n += member->KeptDescriptors();
  return n;
}

Status ErasureBackend::Create() {
  std::vector<Status> st(members_.size());
  ParallelFor(members_.size(), n(), [&](size_t i) { st[i] = members_[i]->Create(); });
  int ok = 0;
  Status first;
  for (size_t i = 0; i < st.size(); ++i) {
    if (st[i].ok()) ++ok;
    else if (first.ok()) first = st[i].WithContext("member " + std::to_string(i));
  }
  if (ok >= WriteQuorum(FileKind::kData)) return Status::Ok();
  return Status(first.code(), "create: only " + std::to_string(ok) + " of " + std::to_string(n()) +
                                  " members ready (need " + std::to_string(WriteQuorum(FileKind::kData)) +
                                  "); " + first.message());
}

// ------------------------------------------------------------------ shard reads

ErasureBackend::ShardRead ErasureBackend::ReadHeader(const Handle& h, int i, uint64_t listed_size) {
  ShardRead r;
  auto bytes = members_[i]->Load(h, 0, kShardHeaderSize);
  if (!bytes.ok()) {
    r.state = StateOf(bytes.status());
    r.error = bytes.status();
    return r;
  }
  auto header = ParseShardHeader(*bytes);
  if (header.ok() && (header->index != i || header->k != k() || header->m != m()))
    header = Corrupt("shard header belongs to another member or code");
  if (header.ok() && listed_size != 0 &&
      listed_size != kShardHeaderSize + StoredPayloadLen(header->file_size, k(), i))
    header = Corrupt("shard file has the wrong length");
  if (!header.ok()) {
    r.state = ShardState::kDamaged;
    r.error = header.status();
    return r;
  }
  r.state = ShardState::kOk;
  r.header = *header;
  return r;
}

ErasureBackend::ShardRead ErasureBackend::ReadWhole(const Handle& h, int i) {
  ShardRead r;
  auto bytes = members_[i]->Load(h, 0, 0);
  if (!bytes.ok()) {
    r.state = StateOf(bytes.status());
    r.error = bytes.status();
    return r;
  }
  auto header = ParseShardHeader(*bytes);
  if (header.ok() && (header->index != i || header->k != k() || header->m != m()))
    header = Corrupt("shard header belongs to another member or code");
  if (header.ok() && bytes->size() != kShardHeaderSize + StoredPayloadLen(header->file_size, k(), i))
    header = Corrupt("shard file has the wrong length");
  if (header.ok() && Sha256Of(ByteSpan(*bytes).subspan(kShardHeaderSize)) != header->payload_hash)
    header = Corrupt("shard payload does not match its SHA-256");
  if (!header.ok()) {
    r.state = ShardState::kDamaged;
    r.error = header.status();
    return r;
  }
  r.state = ShardState::kOk;
  r.header = *header;
  r.file = std::move(bytes).value();
  return r;
}

std::vector<ErasureBackend::ShardRead> ErasureBackend::ReadMany(const Handle& h, const std::vector<int>& idx,
                                                                 bool whole) {
  std::vector<ShardRead> out(members_.size());
  for (auto& r : out) r.state = ShardState::kUnreachable;  // not read (yet)
  ParallelFor(idx.size(), n(), [&](size_t x) {
    out[idx[x]] = whole ? ReadWhole(h, idx[x]) : ReadHeader(h, idx[x]);
  });
  return out;
}

ErasureBackend::Group ErasureBackend::BestGroup(const std::vector<ShardRead>& reads) const {
  Group best;
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].state != ShardState::kOk) continue;
    Group g;
    g.ref = reads[i].header;
    g.has.assign(reads.size(), false);
    for (size_t j = 0; j < reads.size(); ++j)
      if (reads[j].state == ShardState::kOk && reads[j].header.SameFile(g.ref)) {
        g.has[j] = true;
        ++g.count;
      }
    if (g.count > best.count) best = std::move(g);
  }
  if (best.has.empty()) best.has.assign(reads.size(), false);
  best.verified.assign(reads.size(), false);
  return best;
}

Status ErasureBackend::TooFewShards(const Handle& h, const std::vector<ShardRead>& reads, const Group& g) const {
  int missing = 0, unreachable = 0, damaged = 0;
  Status first;
  for (const auto& r : reads) {
    missing += r.state == ShardState::kMissing;
    damaged += r.state == ShardState::kDamaged;
    unreachable += r.state == ShardState::kUnreachable;
    if (r.state == ShardState::kUnreachable && first.ok()) first = r.error;
  }
  const std::string what = FileKey(h);
  if (g.count == 0 && damaged == 0 && missing > m()) return NotFound(what + ": no such file");
  const std::string counts = ": only " + std::to_string(g.count) + " of " + std::to_string(n()) +
                             " shards intact, " + std::to_string(k()) + " needed (" + DescribeMembers(reads) + ")";
  if (unreachable > 0 && g.count + unreachable >= k())
    return IoError(what + counts + (first.ok() ? "" : "; " + first.message()));
  return Corrupt(what + counts);
}

Result<ErasureBackend::Group> ErasureBackend::Meta(const Handle& h) {
  {
    std::lock_guard<std::mutex> l(cache_mu_);
    auto it = meta_.find(FileKey(h));
    if (it != meta_.end()) return it->second;
  }
  std::vector<int> all(members_.size());
  for (int i = 0; i < n(); ++i) all[i] = i;
  auto reads = ReadMany(h, all, /*whole=*/false);
  Group g = BestGroup(reads);
  if (g.count < k()) return TooFewShards(h, reads, g);
  Remember(h, g);
  return g;
}

void ErasureBackend::Remember(const Handle& h, const Group& g) {
  std::lock_guard<std::mutex> l(cache_mu_);
  if (meta_.size() >= kMaxCachedFiles) meta_.clear();
  meta_[FileKey(h)] = g;
}

void ErasureBackend::Forget(const Handle& h) {
  std::lock_guard<std::mutex> l(cache_mu_);
  meta_.erase(FileKey(h));
}

// ------------------------------------------------------------------ loads

Result<Bytes> ErasureBackend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
  if (offset == 0 && length == 0) return LoadWhole(h);
  return LoadRange(h, offset, length);
}

Result<Bytes> ErasureBackend::LoadWhole(const Handle& h) {
  std::vector<int> data(static_cast<size_t>(k())), parity;
  for (int j = 0; j < k(); ++j) data[j] = j;
  auto reads = ReadMany(h, data, /*whole=*/true);
  Group g = BestGroup(reads);
  if (g.count < k()) {
    // Some data shard is missing, damaged or of another version: read parity too.
    for (int i = k(); i < n(); ++i) parity.push_back(i);
    auto more = ReadMany(h, parity, /*whole=*/true);
    for (int i : parity) reads[i] = std::move(more[i]);
    g = BestGroup(reads);
    if (g.count < k()) return TooFewShards(h, reads, g);
  }
  return Decode(h, reads, g);
}

Result<Bytes> ErasureBackend::Decode(const Handle& h, const std::vector<ShardRead>& reads, const Group& g) const {
  const uint64_t size = g.ref.file_size, len = g.ref.shard_len;
  Bytes out(size);
  // The first k intact shards (data shards first), and the data shards to rebuild.
  std::vector<int> have_idx, want;
  for (int i = 0; i < n() && static_cast<int>(have_idx.size()) < k(); ++i)
    if (g.has[i]) have_idx.push_back(i);
  for (int j = 0; j < k(); ++j) {
    if (!g.has[j]) {
      want.push_back(j);
      continue;
    }
    const ByteSpan payload = ByteSpan(reads[j].file).subspan(kShardHeaderSize);
    std::copy(payload.begin(), payload.end(), out.begin() + DataShardOffset(len, j));
  }
  if (!want.empty()) {
    std::vector<Bytes> padded, rebuilt(want.size(), Bytes(len));
    std::vector<const uint8_t*> have;
    padded.reserve(have_idx.size());
    for (int i : have_idx) {
      ByteSpan p = ByteSpan(reads[i].file).subspan(kShardHeaderSize);
      if (p.size() < len) {  // (padded is reserved: pointers into it stay valid)
        padded.emplace_back(len, 0);
        std::copy(p.begin(), p.end(), padded.back().begin());
        p = padded.back();
      }
      have.push_back(p.data());
    }
    std::vector<uint8_t*> outs;
    for (auto& b : rebuilt) outs.push_back(b.data());
    LB_RETURN_IF_ERROR_CTX(codec_.Reconstruct(len, have_idx, have, want, outs), FileKey(h));
    for (size_t w = 0; w < want.size(); ++w) {
      const uint64_t at = DataShardOffset(len, want[w]);
      const uint64_t stored = StoredPayloadLen(size, k(), want[w]);
      std::copy_n(rebuilt[w].begin(), stored, out.begin() + at);
    }
    if (Sha256Of(out) != g.ref.file_hash)
      return Corrupt(FileKey(h) + ": rebuilt file does not match its SHA-256");
  }
  return out;
}

bool ErasureBackend::SeenRange(const Handle& h, uint64_t offset, uint64_t length) {
  const std::string key = FileKey(h) + "@" + std::to_string(offset) + "+" + std::to_string(length);
  std::lock_guard<std::mutex> l(cache_mu_);
  if (ranges_.count(key)) return true;
  if (range_order_.size() < kRememberedRanges) {
    range_order_.push_back(key);
  } else {
    ranges_.erase(range_order_[range_next_]);
    range_order_[range_next_] = key;
    range_next_ = (range_next_ + 1) % kRememberedRanges;
  }
  ranges_[key] = 1;
  return false;
}

bool ErasureBackend::Vouch(const Handle& h, Group& g, int i) {
  if (!g.has[i]) return false;
  if (g.verified[i]) return true;
  ShardRead r = ReadWhole(h, i);
  if (r.state == ShardState::kOk && r.header.SameFile(g.ref)) {
    g.verified[i] = true;
  } else if (r.state != ShardState::kUnreachable) {
    g.has[i] = false;  // damaged, gone, or replaced: it no longer serves this file
    --g.count;
  }
  return g.verified[i];
}

Result<Bytes> ErasureBackend::LoadRange(const Handle& h, uint64_t offset, uint64_t length) {
  LB_ASSIGN_OR_RETURN(Group g, Meta(h));
  const uint64_t size = g.ref.file_size, len = g.ref.shard_len;
  if (offset > size || (length > 0 && offset + length > size))
    return Corrupt("read beyond end of " + FileKey(h));
  if (length == 0) length = size - offset;
  auto from_whole = [&]() -> Result<Bytes> {
    LB_ASSIGN_OR_RETURN(Bytes all, LoadWhole(h));
    if (all.size() != size) return Corrupt(FileKey(h) + ": changed size while reading");
    return Bytes(all.begin() + offset, all.begin() + offset + length);
  };
  if (length == 0) return Bytes{};
  if (length == size) return from_whole();
  // A range read again is read only from shards verified whole (once per file).
  const bool careful = SeenRange(h, offset, length);
  Bytes out;
  out.reserve(length);
  for (uint64_t pos = offset; pos < offset + length;) {
    const int j = static_cast<int>(pos / len);
    const uint64_t at = pos - DataShardOffset(len, j);
    const uint64_t n_bytes = std::min(len - at, offset + length - pos);
    Result<Bytes> part = Status(Code::kNotFound, "shard not intact");
    if (g.has[j] && (!careful || Vouch(h, g, j))) part = members_[j]->Load(h, kShardHeaderSize + at, n_bytes);
    if (!part.ok() || part->size() != n_bytes) part = RebuildRange(h, g, j, at, n_bytes, careful);
    if (!part.ok()) {
      Forget(h);  // what we knew of its shards is stale: probe afresh next time
      return from_whole();
    }
    out.insert(out.end(), part->begin(), part->end());
    pos += n_bytes;
  }
  if (careful) Remember(h, g);
  return out;
}

Result<Bytes> ErasureBackend::RebuildRange(const Handle& h, Group& g, int j, uint64_t at, uint64_t len,
                                           bool careful) {
  // Candidates: intact shards other than j, data shards first (they are often
  // shorter reads); read k at a time until k ranges came back.
  std::vector<int> candidates;
  for (int i = 0; i < n(); ++i) {
    if (i == j || !g.has[i]) continue;
    if (careful && static_cast<int>(candidates.size()) >= k()) break;
    if (!careful || Vouch(h, g, i)) candidates.push_back(i);
  }
  std::vector<int> have_idx;
  std::vector<Bytes> have;
  size_t next = 0;
  while (static_cast<int>(have_idx.size()) < k() && next < candidates.size()) {
    const size_t want = std::min(candidates.size() - next, static_cast<size_t>(k()) - have_idx.size());
    std::vector<Result<Bytes>> got(want, Status(Code::kInternal, "not read"));
    ParallelFor(want, n(), [&](size_t x) {
      const int i = candidates[next + x];
      const uint64_t stored = StoredPayloadLen(g.ref.file_size, k(), i);
      const uint64_t avail = at >= stored ? 0 : std::min(len, stored - at);
      Result<Bytes> r = avail == 0 ? Result<Bytes>(Bytes{}) : members_[i]->Load(h, kShardHeaderSize + at, avail);
      if (r.ok() && r->size() != avail) r = Corrupt("short read");
      if (r.ok()) r->resize(len, 0);  // zero padding beyond a data shard's end
      got[x] = std::move(r);
    });
    for (size_t x = 0; x < want; ++x)
      if (got[x].ok()) {
        have_idx.push_back(candidates[next + x]);
        have.push_back(std::move(got[x]).value());
      }
    next += want;
  }
  if (static_cast<int>(have_idx.size()) < k()) return IoError(FileKey(h) + ": too few shards to rebuild a range");
  std::vector<const uint8_t*> in;
  for (const auto& b : have) in.push_back(b.data());
  Bytes out(len);
  uint8_t* dst = out.data();
  const int want_idx[1] = {j};
  LB_RETURN_IF_ERROR(codec_.Reconstruct(len, have_idx, in, want_idx, std::span<uint8_t* const>(&dst, 1)));
  return out;
}

Result<uint64_t> ErasureBackend::Size(const Handle& h) {
  if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
  LB_ASSIGN_OR_RETURN(Group g, Meta(h));
  return g.ref.file_size;
}

// ------------------------------------------------------------------ saves

void ErasureBackend::LockName(const std::string& key) {
  std::unique_lock<std::mutex> l(names_mu_);
  names_cv_.wait(l, [&] { return !saving_.count(key); });
  saving_.insert(key);
}

void ErasureBackend::UnlockName(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(names_mu_);
    saving_.erase(key);
  }
  names_cv_.notify_all();
}

Status ErasureBackend::Save(const Handle& h, ByteSpan data) {
  if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
  const std::string key = FileKey(h);
  LockName(key);
  Status st = SaveLocked(h, data);
  UnlockName(key);
  return st;
}

Status ErasureBackend::StoreShard(const Handle& h, int i, ByteSpan file, bool replace, bool create_layout) {
  if (replace) {
    Status rm = members_[i]->Remove(h);
    if (!rm.ok() && rm.code() != Code::kNotFound) return rm;
  }
  Status st = members_[i]->Save(h, file);
  if (st.code() == Code::kNotFound && create_layout) {
    // A replaced member may be an empty folder: create its layout and try again.
    LB_RETURN_IF_ERROR(members_[i]->Create());
    st = members_[i]->Save(h, file);
  }
  return st;
}

Status ErasureBackend::SaveLocked(const Handle& h, ByteSpan data) {
  std::vector<int> all(members_.size());
  for (int i = 0; i < n(); ++i) all[i] = i;
  auto before = ReadMany(h, all, /*whole=*/false);
  if (BestGroup(before).count >= k()) return Status(Code::kAlreadyExists, FileKey(h) + " already exists");
  const ShardPlan plan = PlanShards(codec_, data);
  // Leftover shards of an earlier, unfinished write: equal ones count as
  // written, others (or damaged ones) are replaced.
  std::vector<Status> st(members_.size());
  std::vector<bool> wrote(members_.size(), false);
  ParallelFor(members_.size(), n(), [&](size_t i) {
    const ShardRead& old = before[i];
    if (old.state == ShardState::kOk && old.header.SameFile(plan.ref)) return;
    const bool replace = old.state == ShardState::kOk || old.state == ShardState::kDamaged;
    st[i] = StoreShard(h, static_cast<int>(i), ShardFile(plan, static_cast<int>(i)), replace,
                       /*create_layout=*/false);
    wrote[i] = st[i].ok();
  });
  int stored = 0;
  Status first;
  std::string failures;
  for (size_t i = 0; i < st.size(); ++i) {
    if (st[i].ok()) {
      ++stored;
    } else {
      if (first.ok()) first = st[i];
      failures += "; member " + std::to_string(i) + ": " + st[i].message();
    }
  }
  const int quorum = WriteQuorum(h.kind);
  if (stored >= quorum) {
    Group g;
    g.ref = plan.ref;
    g.has.resize(members_.size());
    for (size_t i = 0; i < st.size(); ++i) g.has[i] = st[i].ok();
    g.verified.assign(members_.size(), false);  // the media may still damage them
    g.count = stored;
    Remember(h, g);
    return Status::Ok();
  }
  // Below the quorum: take back what this call wrote, so no half-stored file stays.
  ParallelFor(members_.size(), n(), [&](size_t i) {
    if (wrote[i]) members_[i]->Remove(h).IgnoreError();
  });
  Forget(h);
  return Status(first.code(), "save " + FileKey(h) + ": only " + std::to_string(stored) + " of " +
                                  std::to_string(n()) + " shards stored, " + std::to_string(quorum) +
                                  " needed" + failures);
}

// ------------------------------------------------------------------ list, remove

Result<uint64_t> ErasureBackend::ListedSize(const Handle& h, const std::vector<int64_t>& sizes) {
  // All data shards listed: their payloads add up to the file, if every listed
  // length fits the layout of that size.
  bool all_data = true;
  uint64_t total = 0;
  for (int j = 0; j < k(); ++j) {
    if (sizes[j] < static_cast<int64_t>(kShardHeaderSize)) all_data = false;
    else total += static_cast<uint64_t>(sizes[j]) - kShardHeaderSize;
  }
  if (all_data) {
    bool fits = true;
    for (int i = 0; i < n(); ++i)
      if (sizes[i] >= 0 && static_cast<uint64_t>(sizes[i]) != kShardHeaderSize + StoredPayloadLen(total, k(), i))
        fits = false;
    if (fits) return total;
  }
  // Otherwise ask a shard header.
  Status last = Corrupt(FileKey(h) + ": no readable shard header");
  for (int i = 0; i < n(); ++i) {
    if (sizes[i] < 0) continue;
    ShardRead r = ReadHeader(h, i, static_cast<uint64_t>(sizes[i]));
    if (r.state == ShardState::kOk) return r.header.file_size;
    last = r.error;
  }
  return last;
}

Status ErasureBackend::List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) {
  std::vector<std::vector<std::pair<std::string, uint64_t>>> listed(members_.size());
  std::vector<Status> st(members_.size());
  ParallelFor(members_.size(), n(), [&](size_t i) {
    st[i] = members_[i]->List(kind, [&](const std::string& name, uint64_t size) {
      listed[i].emplace_back(name, size);
      return Status::Ok();
    });
  });
  int failed = 0;
  Status first;
  for (size_t i = 0; i < st.size(); ++i)
    if (!st[i].ok()) {
      ++failed;
      if (first.ok()) first = st[i].WithContext("member " + members_[i]->Location());
    }
  if (failed > m())
    return Status(first.code(), std::string("list ") + FileKindDir(kind) + ": " + std::to_string(failed) +
                                    " of " + std::to_string(n()) + " members failed; " + first.message());
  std::unordered_map<std::string, std::vector<int64_t>> names;  // per member listed size, -1 if absent
  for (size_t i = 0; i < listed.size(); ++i)
    for (const auto& [name, size] : listed[i]) {
      auto& v = names.try_emplace(name, members_.size(), int64_t{-1}).first->second;
      v[i] = static_cast<int64_t>(size);
    }
  std::vector<std::pair<std::string, const std::vector<int64_t>*>> files;
  for (const auto& [name, sizes] : names) {
    const int seen = static_cast<int>(std::count_if(sizes.begin(), sizes.end(), [](int64_t s) { return s >= 0; }));
    if (seen >= k()) {
      files.emplace_back(name, &sizes);
    } else if (seen + failed >= k()) {
      return IoError(std::string("list ") + FileKindDir(kind) + ": cannot tell whether " + name +
                     " exists: " + std::to_string(failed) + " members failed to list; " + first.message());
    }
  }
  std::vector<Result<uint64_t>> sizes(files.size(), uint64_t{0});
  ParallelFor(files.size(), 8, [&](size_t x) { sizes[x] = ListedSize({kind, files[x].first}, *files[x].second); });
  for (size_t x = 0; x < files.size(); ++x) {
    if (!sizes[x].ok()) return sizes[x].status().WithContext(std::string("list ") + FileKindDir(kind));
    LB_RETURN_IF_ERROR(fn(files[x].first, *sizes[x]));
  }
  return Status::Ok();
}

Status ErasureBackend::Remove(const Handle& h) {
  if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
  Forget(h);
  std::vector<Status> st(members_.size());
  ParallelFor(members_.size(), n(), [&](size_t i) { st[i] = members_[i]->Remove(h); });
  int removed = 0, failed = 0;
  Status first;
  for (const auto& s : st) {
    if (s.ok()) {
      ++removed;
    } else if (s.code() != Code::kNotFound) {
      if (failed++ == 0) first = s;
    }
  }
  // Shards left on failing members are harmless while fewer than k remain.
  if (failed < k()) return removed > 0 ? Status::Ok() : NotFound("remove " + FileKey(h) + ": no such file");
  return Status(first.code(), "remove " + FileKey(h) + ": " + std::to_string(failed) + " of " +
                                  std::to_string(n()) + " members failed; " + first.message());
}

}  // namespace lb::storage
