#include "repo/index.h"

namespace lb::repo {

void Index::AddPack(PackInfo pack) {
  std::lock_guard<std::mutex> l(mu_);
  if (pack_pos_.count(pack.id)) return;
  const uint32_t pos = static_cast<uint32_t>(packs_.size());
  pack_pos_[pack.id] = pos;
  packs_.push_back(std::make_unique<PackInfo>(std::move(pack)));
  const PackInfo& p = *packs_.back();
  for (uint32_t i = 0; i < p.blobs.size(); ++i) {
    if (!blobs_.try_emplace(p.blobs[i].id, Slot{pos, i}).second)
      copies_.emplace(p.blobs[i].id, Slot{pos, i});
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
    blobs_.clear();
    copies_.clear();
  }
  for (auto& p : keep) AddPack(std::move(*p));
}

std::optional<BlobLocation> Index::Find(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end()) return std::nullopt;
  const PackInfo* p = packs_[it->second.pack].get();
  return BlobLocation{p, p->blobs[it->second.entry]};
}

std::vector<BlobLocation> Index::FindAll(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<BlobLocation> out;
  auto it = blobs_.find(id);
  if (it == blobs_.end()) return out;
  auto at = [&](const Slot& s) {
    const PackInfo* p = packs_[s.pack].get();
    return BlobLocation{p, p->blobs[s.entry]};
  };
  out.push_back(at(it->second));
  auto range = copies_.equal_range(id);
  for (auto c = range.first; c != range.second; ++c) out.push_back(at(c->second));
  return out;
}

bool Index::Has(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  return blobs_.count(id) > 0;
}

bool Index::HasPack(const Id& pack_id) const {
  std::lock_guard<std::mutex> l(mu_);
  return pack_pos_.count(pack_id) > 0;
}

size_t Index::blob_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return blobs_.size();
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
