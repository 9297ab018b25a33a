#include "drill/select.h"

#include <algorithm>

namespace lb::drill {

namespace {

bool Tagged(const snapshot::Snapshot& s, const std::string& tag) {
  return std::find(s.tags.begin(), s.tags.end(), tag) != s.tags.end();
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The service's snapshots of one group, oldest first.
std::vector<const snapshot::Entry*> OfGroup(const std::vector<snapshot::Entry>& all,
                                            const std::string& tag, const Group& g) {
  std::vector<const snapshot::Entry*> out;
  for (const auto& e : all)
    if (Tagged(e.snapshot, tag) && Sorted(e.snapshot.paths) == g.paths) out.push_back(&e);
  return out;
}

Result<const snapshot::Entry*> PickPrimary(const std::vector<const snapshot::Entry*>& c,
                                           const Selection& sel, const std::string& service) {
  using M = Selection::Mode;
  if (c.empty()) return NotFound("service " + service + " has no snapshot");
  switch (sel.mode) {
    case M::kLatest:
      return c.back();
    case M::kAt: {
      const snapshot::Entry* best = nullptr;
      for (const auto* e : c)
        if (e->snapshot.time <= sel.at) best = e;
      if (!best) return NotFound("service " + service + " has no snapshot at or before that time");
      return best;
    }
    case M::kRandom: {
      if (c.size() == 1) return c.front();
      // splitmix64 of the seed: the same seed always picks the same point.
      uint64_t z = sel.seed + 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      return c[z % (c.size() - 1)];
    }
    case M::kId: {
      if (sel.id.size() < 4) return InvalidArgument("snapshot id prefix '" + sel.id + "' is too short");
      const snapshot::Entry* found = nullptr;
      for (const auto* e : c)
        if (e->id.Hex().rfind(sel.id, 0) == 0) {
          if (found) return InvalidArgument("snapshot id prefix '" + sel.id + "' is ambiguous");
          found = e;
        }
      if (!found)
        return NotFound("snapshot " + sel.id + " is not a snapshot of service " + service +
                        "'s first source");
      return found;
    }
  }
  return InvalidArgument("unknown selection");
}

}  // namespace

std::vector<Group> SourceGroups(const policy::Service& s) {
  std::vector<Group> groups;
  Group files{"files", {}};
  for (const auto& src : s.sources)
    if (src.type == policy::Source::Type::kPath) files.paths.push_back(src.path);
  files.paths = Sorted(files.paths);
  bool files_added = false;
  for (const auto& src : s.sources) {
    if (src.type == policy::Source::Type::kPath) {
      if (!files_added) groups.push_back(files);
      files_added = true;
    } else {
      groups.push_back(Group{src.name, {"/" + src.name}});
    }
  }
  return groups;
}

Result<RecoveryPoint> SelectPoint(const std::vector<snapshot::Entry>& all,
                                  const policy::Service& s, const Selection& sel) {
  const std::string tag = "service=" + s.name;
  const auto groups = SourceGroups(s);
  if (groups.empty()) return NotFound("service " + s.name + " has no sources");
  const auto primaries = OfGroup(all, tag, groups[0]);
  LB_ASSIGN_OR_RETURN(const snapshot::Entry* primary, PickPrimary(primaries, sel, s.name));
  RecoveryPoint point;
  point.time = primary->snapshot.time;
  point.parts.push_back({groups[0], *primary});
  for (size_t i = 1; i < groups.size(); ++i) {
    const snapshot::Entry* best = nullptr;
    int64_t best_gap = 0;
    for (const auto* e : OfGroup(all, tag, groups[i])) {
      if (sel.mode == Selection::Mode::kAt && e->snapshot.time > sel.at) continue;
      const int64_t gap = e->snapshot.time > point.time ? e->snapshot.time - point.time
                                                        : point.time - e->snapshot.time;
      if (!best || gap < best_gap) best = e, best_gap = gap;
    }
    if (!best)
      return NotFound("service " + s.name + " has no snapshot of source '" + groups[i].label + "'");
    point.parts.push_back({groups[i], *best});
  }
  return point;
}

}  // namespace lb::drill
