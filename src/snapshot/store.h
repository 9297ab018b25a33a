// Loading and saving trees and snapshots in a repository, and resolving the
// snapshot references users type ("latest", an id prefix, a point in time).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "snapshot/snapshot.h"

namespace lb::snapshot {

Result<Tree> LoadTree(repo::Repository& repo, const Id& id);
// Stores a tree blob; returns its id and whether it was new.
Result<std::pair<Id, bool>> SaveTree(repo::Repository& repo, const Tree& tree);

struct Entry {
  Id id;
  Snapshot snapshot;
};

// Every snapshot, oldest first (ties broken by id).
Result<std::vector<Entry>> ListSnapshots(repo::Repository& repo);

// "latest", a full id or a unique prefix of at least 4 hex digits.
// kNotFound when nothing matches; kInvalidArgument when a prefix is ambiguous.
Result<Entry> FindSnapshot(repo::Repository& repo, const std::string& ref);
// The newest snapshot with time <= at.
Result<Entry> FindSnapshotAt(repo::Repository& repo, TimeNs at);

// The node at an absolute path inside a snapshot ("/" gives a synthetic root).
Result<Node> FindNode(repo::Repository& repo, const Snapshot& snap, const std::string& path);

}  // namespace lb::snapshot
