#include "repo/index.h"

namespace lb::repo {

const Id& Index::IdAt(uint64_t slot) const {
  const Slot s = Unpack(slot);
  return packs_[s.pack]->blobs[s.entry].id;
}

size_t Index::Probe(const Id& id) const {
  const size_t mask = table_.size() - 1;
  for (size_t i = IdHash{}(id) & mask;; i = (i + 1) & mask)
    if (table_[i] == kEmpty || IdAt(table_[i]) == id) return i;
}

void Index::Grow() {
  std::vector<uint64_t> old = std::move(table_);
  table_.assign(old.empty() ? 1024 : old.size() * 2, kEmpty);
  for (uint64_t v : old)
    if (v != kEmpty) table_[Probe(IdAt(v))] = v;
}

void Index::AddPack(PackInfo pack) {
  std::lock_guard<std::mutex> l(mu_);
  if (pack_pos_.count(pack.id)) return;
  const uint32_t pos = static_cast<uint32_t>(packs_.size());
  pack_pos_[pack.id] = pos;
  packs_.push_back(std::make_unique<PackInfo>(std::move(pack)));
  const PackInfo& p = *packs_.back();
  for (uint32_t i = 0; i < p.blobs.size(); ++i) {
    if ((blob_count_ + 1) * 10 > table_.size() * 7) Grow();
    const size_t at = Probe(p.blobs[i].id);
    if (table_[at] == kEmpty) {
      table_[at] = Pack(Slot{pos, i});
      ++blob_count_;
    } else {
      copies_.emplace(p.blobs[i].id, Slot{pos, i});
    }
  }
}

void Index::RemovePacks(const std::unordered_set<Id, IdHash>& pack_ids) {
  std::vector<std::unique_ptr<PackInfo>> keep;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& p : packs_)
      if (!pack_ids.count(p->id)) keep.push_back(std::move(p));
    packs_.clear();
    pack_pos_.clear();
    table_.clear();
    blob_count_ = 0;
    copies_.clear();
  }
  for (auto& p : keep) AddPack(std::move(*p));
}

std::optional<BlobLocation> Index::Find(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  if (table_.empty()) return std::nullopt;
  const uint64_t v = table_[Probe(id)];
  if (v == kEmpty) return std::nullopt;
  const Slot s = Unpack(v);
  const PackInfo* p = packs_[s.pack].get();
  return BlobLocation{p, p->blobs[s.entry]};
}

std::vector<BlobLocation> Index::FindAll(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<BlobLocation> out;
  if (table_.empty()) return out;
  const uint64_t v = table_[Probe(id)];
  if (v == kEmpty) return out;
  auto at = [&](const Slot& s) {
    const PackInfo* p = packs_[s.pack].get();
    return BlobLocation{p, p->blobs[s.entry]};
  };
  out.push_back(at(Unpack(v)));
  auto range = copies_.equal_range(id);
  for (auto c = range.first; c != range.second; ++c) out.push_back(at(c->second));
  return out;
}

bool Index::Has(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  return !table_.empty() && table_[Probe(id)] != kEmpty;
}

bool Index::HasPack(const Id& pack_id) const {
  std::lock_guard<std::mutex> l(mu_);
  return pack_pos_.count(pack_id) > 0;
}

size_t Index::blob_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return blob_count_;
}

size_t Index::pack_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return packs_.size();
}

void Index::ForEachPack(const std::function<void(const PackInfo&)>& fn) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& p : packs_) fn(*p);
}

}  // namespace lb::repo
