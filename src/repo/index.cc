#include "repo/index.h"

namespace lb::repo {

void Index::AddPack(PackInfo pack) {
  std::lock_guard<std::mutex> l(mu_);
  if (pack_pos_.count(pack.id)) return;
  const uint32_t pos = static_cast<uint32_t>(packs_.size());
  pack_pos_[pack.id] = pos;
  packs_.push_back(std::make_unique<PackInfo>(std::move(pack)));
  const PackInfo& p = *packs_.back();
  for (uint32_t i = 0; i < p.blobs.size(); ++i) blobs_.try_emplace(p.blobs[i].id, Slot{pos, i});
}

std::optional<BlobLocation> Index::Find(const Id& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = blobs_.find(id);
  if (it == blobs_.end()) return std::nullopt;
  const PackInfo* p = packs_[it->second.pack].get();
  return BlobLocation{p, p->blobs[it->second.entry]};
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
