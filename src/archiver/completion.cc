#include "archiver/completion.h"

namespace lb::archiver {

using snapshot::Node;

namespace {

bool SameNode(const Node& a, const Node& b) {
  const fs::Metadata &x = a.meta, &y = b.meta;
  return a.name == b.name && x.type == y.type && x.mode == y.mode && x.uid == y.uid &&
         x.gid == y.gid && x.user == y.user && x.group == y.group && x.size == y.size &&
         x.mtime_ns == y.mtime_ns && x.ctime_ns == y.ctime_ns && x.inode == y.inode &&
         x.device == y.device && x.nlink == y.nlink && x.rdev == y.rdev &&
         x.symlink_target == y.symlink_target && x.xattrs == y.xattrs && a.content == b.content &&
         a.subtree == b.subtree && a.error == b.error;
}

}  // namespace

bool SameTree(const snapshot::Tree& a, const snapshot::Tree& b) {
  if (a.nodes.size() != b.nodes.size()) return false;
  for (size_t i = 0; i < a.nodes.size(); ++i)
    if (!SameNode(a.nodes[i], b.nodes[i])) return false;
  return true;
}

size_t CompletionQueue::NodesOf(const PendingDir& d) {
  return d.tree.nodes.size() + (d.parent_tree ? d.parent_tree->nodes.size() : 0);
}

Status CompletionQueue::Push(std::shared_ptr<PendingDir> dir) {
  nodes_ += NodesOf(*dir);
  queue_.push_back(std::move(dir));
  while (!queue_.empty() && (queue_.size() > max_dirs_ || nodes_ > max_nodes_))
    LB_RETURN_IF_ERROR(CompleteFront());
  return Status::Ok();
}

Status CompletionQueue::Drain() {
  while (!queue_.empty()) LB_RETURN_IF_ERROR(CompleteFront());
  return Status::Ok();
}

Status CompletionQueue::CompleteFront() {
  std::shared_ptr<PendingDir> d = std::move(queue_.front());
  queue_.pop_front();
  nodes_ -= NodesOf(*d);
  LB_RETURN_IF_ERROR(complete_(*d));
  d->done = true;
  // Only the id is needed from now on (by the parent directory).
  d->tree = snapshot::Tree{};
  d->jobs.clear();
  d->subdirs.clear();
  d->parent_tree.reset();
  return Status::Ok();
}

}  // namespace lb::archiver
