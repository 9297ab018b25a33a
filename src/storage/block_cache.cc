#include "storage/block_cache.h"

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <unordered_map>

namespace lb::storage {

namespace {

class BlockCacheBackend final : public Backend {
 public:
  BlockCacheBackend(std::unique_ptr<Backend> inner, BlockCacheOptions o) : inner_(std::move(inner)), o_(o) {
    if (o_.block_size == 0) o_.block_size = 1;
    o_.capacity = std::max(o_.capacity, o_.block_size);
  }

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const Handle& h, ByteSpan data) override { return inner_->Save(h, data); }
  Result<uint64_t> Size(const Handle& h) override { return inner_->Size(h); }
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return inner_->List(kind, fn);
  }
  Status Remove(const Handle& h) override {
    if (h.kind == FileKind::kData) Forget(h.name);
    return inner_->Remove(h);
  }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;

 private:
  using Block = std::shared_ptr<const Bytes>;
  struct Entry {
    bool ready = false;
    Status error;  // set when the read failed (the entry is then gone from the map)
    Block data;
    std::list<std::string>::iterator lru;  // valid when ready
  };

  Result<uint64_t> PackSize(const std::string& name);
  Result<Block> GetBlock(const std::string& name, uint64_t index, uint64_t pack_size);
  void Insert(const std::string& key, const std::shared_ptr<Entry>& e, Block data);  // mu_ held
  void Forget(const std::string& name);

  std::unique_ptr<Backend> inner_;
  BlockCacheOptions o_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> blocks_;  // "NAME:INDEX"
  std::list<std::string> lru_;  // ready blocks, most recently used first
  uint64_t cached_bytes_ = 0;
  std::unordered_map<std::string, uint64_t> sizes_;
};

Result<Bytes> BlockCacheBackend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  if (h.kind != FileKind::kData || length == 0 || length > o_.capacity / 2) return inner_->Load(h, offset, length);
  LB_ASSIGN_OR_RETURN(uint64_t size, PackSize(h.name));
  if (offset > size || length > size - offset)
    return Corrupt("load " + h.name + ": range " + std::to_string(offset) + "+" + std::to_string(length) +
                   " goes beyond the end of the file (" + std::to_string(size) + " bytes)");
  Bytes out;
  out.reserve(length);
  const uint64_t end = offset + length;
  for (uint64_t i = offset / o_.block_size; i * o_.block_size < end; ++i) {
    LB_ASSIGN_OR_RETURN(Block b, GetBlock(h.name, i, size));
    const uint64_t start = i * o_.block_size;
    const uint64_t from = std::max(offset, start) - start;
    const uint64_t to = std::min(end, start + b->size()) - start;
    if (to <= from) return Corrupt("load " + h.name + ": block " + std::to_string(i) + " is short");
    out.insert(out.end(), b->begin() + static_cast<std::ptrdiff_t>(from), b->begin() + static_cast<std::ptrdiff_t>(to));
  }
  return out;
}

Result<uint64_t> BlockCacheBackend::PackSize(const std::string& name) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = sizes_.find(name); it != sizes_.end()) return it->second;
  }
  LB_ASSIGN_OR_RETURN(uint64_t size, inner_->Size({FileKind::kData, name}));
  std::lock_guard<std::mutex> l(mu_);
  sizes_[name] = size;
  return size;
}

Result<BlockCacheBackend::Block> BlockCacheBackend::GetBlock(const std::string& name, uint64_t index,
                                                            uint64_t pack_size) {
  const std::string key = name + ":" + std::to_string(index);
  std::unique_lock<std::mutex> l(mu_);
  if (auto it = blocks_.find(key); it != blocks_.end()) {
    std::shared_ptr<Entry> e = it->second;
    cv_.wait(l, [&] { return e->ready || !e->error.ok(); });
    if (!e->error.ok()) return e->error;
    // While this thread waited the block may have been evicted again: touch it only
    // if it is still the cached one.
    if (auto now = blocks_.find(key); now != blocks_.end() && now->second == e) lru_.splice(lru_.begin(), lru_, e->lru);
    return e->data;
  }
  auto e = std::make_shared<Entry>();
  blocks_[key] = e;
  l.unlock();
  const uint64_t start = index * o_.block_size;
  auto loaded = inner_->Load({FileKind::kData, name}, start, std::min(o_.block_size, pack_size - start));
  l.lock();
  if (!loaded.ok()) {
    e->error = loaded.status();
    blocks_.erase(key);
    cv_.notify_all();
    return e->error;
  }
  Block data = std::make_shared<const Bytes>(std::move(*loaded));
  Insert(key, e, data);
  cv_.notify_all();
  return data;
}

void BlockCacheBackend::Insert(const std::string& key, const std::shared_ptr<Entry>& e, Block data) {
  e->data = std::move(data);
  e->ready = true;
  lru_.push_front(key);
  e->lru = lru_.begin();
  cached_bytes_ += e->data->size();
  while (cached_bytes_ > o_.capacity && lru_.size() > 1) {
    auto it = blocks_.find(lru_.back());
    cached_bytes_ -= it->second->data->size();
    blocks_.erase(it);
    lru_.pop_back();
  }
}

void BlockCacheBackend::Forget(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  sizes_.erase(name);
  const std::string prefix = name + ":";
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->compare(0, prefix.size(), prefix) != 0) {
      ++it;
      continue;
    }
    auto b = blocks_.find(*it);
    cached_bytes_ -= b->second->data->size();
    blocks_.erase(b);
    it = lru_.erase(it);
  }
}

}  // namespace

std::unique_ptr<Backend> NewBlockCacheBackend(std::unique_ptr<Backend> inner, BlockCacheOptions options) {
  return std::make_unique<BlockCacheBackend>(std::move(inner), options);
}

}  // namespace lb::storage
