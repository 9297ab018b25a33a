#include "restorer/restorer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "base/budget.h"
#include "base/thread_pool.h"
#include "fs/dir.h"
#include "snapshot/store.h"

namespace lb::restorer {

using snapshot::Node;

namespace {

constexpr size_t kBlock = 4096;
// Regular files handed to the pool and not yet finished (each holds a descriptor
// while it is written): bounds descriptors and queued tasks whatever the tree, and
// leaves three quarters of the process's descriptor limit to everything else.
size_t FilesInFlight() {
  struct rlimit rl = {};
  size_t limit = 128;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    limit = std::min<size_t>(limit, rl.rlim_cur / 4);
  return std::max<size_t>(limit, 4);
}

bool IsZero(const uint8_t* p, size_t n) {
  static const uint8_t kZeros[kBlock] = {};
  while (n > 0) {
    size_t k = std::min(n, kBlock);
    if (std::memcmp(p, kZeros, k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

// Writes `data` at `offset`, skipping all-zero aligned blocks so they stay holes.
Status WriteSparse(const fs::File& f, uint64_t offset, ByteSpan data) {
  size_t i = 0;
  while (i < data.size()) {
    size_t block_end = std::min(data.size(), static_cast<size_t>(((offset + i) / kBlock + 1) * kBlock - offset));
    if (IsZero(data.data() + i, block_end - i)) {
      i = block_end;
      continue;
    }
    size_t run_end = block_end;
    while (run_end < data.size()) {
      size_t next = std::min(data.size(), run_end + kBlock);
      if (IsZero(data.data() + run_end, next - run_end)) break;
      run_end = next;
    }
    LB_RETURN_IF_ERROR(f.WriteAt(offset + i, data.subspan(i, run_end - i)));
    i = run_end;
  }
  return Status::Ok();
}

// Counts tasks of one directory and keeps their first error.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  size_t count = 0;
  Status error;
  void Add() {
    std::lock_guard<std::mutex> l(mu);
    ++count;
  }
  void Done(const Status& st) {
    std::lock_guard<std::mutex> l(mu);
    if (!st.ok() && error.ok()) error = st;
    if (--count == 0) cv.notify_all();
  }
  Status Wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return count == 0; });
    return error;
  }
};

struct DirCtx {
  DirCtx* parent = nullptr;
  std::string name;  // in parent
  std::string abs;   // path inside the snapshot
  std::shared_ptr<fs::Dir> dir;
  bool materialised = false;  // exists (or would, in dry-run)
  Pending pending;
};

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

class Restorer {
 public:
  Restorer(repo::Repository& repo, const Options& opt, bool verify_only = false)
      : repo_(repo), opt_(opt), verify_only_(verify_only),
        pool_(opt.threads ? opt.threads : ThreadPool::DefaultThreads()) {
    chown_ = fs::IsRoot();
  }

  Result<Stats> Run(const snapshot::Snapshot& snap) {
    DirCtx root;
    root.abs = "/";
    root.materialised = true;
    if (!opt_.dry_run) {
      auto d = verify_only_ ? fs::Dir::Open(opt_.target) : fs::Dir::OpenOrCreate(opt_.target);
      if (!d.ok()) return d.status().WithContext("target " + opt_.target);
      root.dir = std::make_shared<fs::Dir>(std::move(d).value());
    }
    Status st = RestoreTree(root, snap.tree);
    pool_.Wait();
    if (!st.ok()) return st;
    Stats s = stats_;
    s.verified = verified_;
    return s;
  }

 private:
  Status Materialise(DirCtx& c) {
    if (c.materialised) return Status::Ok();
    LB_RETURN_IF_ERROR(Materialise(*c.parent));
    c.materialised = true;
    if (opt_.dry_run) return Status::Ok();
    if (!verify_only_) LB_RETURN_IF_ERROR(c.parent->dir->MakeDir(c.name));
    LB_ASSIGN_OR_RETURN(fs::Dir d, c.parent->dir->OpenDir(c.name));
    c.dir = std::make_shared<fs::Dir>(std::move(d));
    return Status::Ok();
  }

  void Report(const std::string& abs, const fs::Metadata& m) {
    if (opt_.on_entry) opt_.on_entry(abs, m);
  }

  Status RestoreTree(DirCtx& ctx, const Id& tree_id) {
    LB_ASSIGN_OR_RETURN(snapshot::Tree tree, snapshot::LoadTree(repo_, tree_id));
    Status st;
    for (const Node& node : tree.nodes) {
      const std::string abs = JoinPath(ctx.abs, node.name);
      if (opt_.excludes.Matches(abs)) continue;
      const bool included = opt_.includes.empty() || opt_.includes.Matches(abs);
      if (node.meta.type == fs::FileType::kDirectory) {
        if (!included && !opt_.includes.MayMatchBelow(abs)) continue;
        st = RestoreDir(ctx, node, abs, included);
      } else if (included) {
        st = RestoreLeaf(ctx, node, abs);
      }
      if (!st.ok()) break;
    }
    Status waited = ctx.pending.Wait();
    return st.ok() ? waited : st;
  }

  Status RestoreDir(DirCtx& parent, const Node& node, const std::string& abs, bool included) {
    DirCtx child;
    child.parent = &parent;
    child.name = node.name;
    child.abs = abs;
    if (included) LB_RETURN_IF_ERROR_CTX(Materialise(child), abs);
    LB_RETURN_IF_ERROR(RestoreTree(child, node.subtree));
    if (!child.materialised) return Status::Ok();
    ++stats_.dirs;
    Report(abs, node.meta);
    if (opt_.dry_run || verify_only_) return Status::Ok();
    child.dir.reset();
    return Apply(*parent.dir, node, abs);
  }

  Status Apply(const fs::Dir& dir, const Node& node, const std::string& abs) {
    Status st = dir.ApplyMetadata(node.name, node.meta, chown_);
    if (!st.ok()) {
      if (opt_.on_warning) opt_.on_warning(abs, "metadata: " + st.message());
    }
    return Status::Ok();
  }

  Status RestoreLeaf(DirCtx& ctx, const Node& node, const std::string& abs) {
    LB_RETURN_IF_ERROR_CTX(Materialise(ctx), abs);
    const fs::Metadata& m = node.meta;
    if (m.type == fs::FileType::kRegular)
      return verify_only_ ? VerifyFile(ctx, node, abs) : RestoreFile(ctx, node, abs);
    ++stats_.others;
    Report(abs, m);
    if (opt_.dry_run) return Status::Ok();
    if (verify_only_) {
      auto st = ctx.dir->StatBasic(node.name);
      if (!st.ok()) return st.status().WithContext("verify " + abs);
      if (st->type != m.type) return Corrupt("verify " + abs + ": wrong file type");
      return Status::Ok();
    }
    if (opt_.overwrite == Overwrite::kNever && ctx.dir->StatBasic(node.name).ok()) {
      ++stats_.skipped;
      return Status::Ok();
    }
    if (m.type == fs::FileType::kSymlink) {
      LB_RETURN_IF_ERROR_CTX(ctx.dir->MakeSymlink(node.name, m.symlink_target), abs);
    } else {
      Status st = ctx.dir->MakeNode(node.name, m);
      if (!st.ok()) {
        if (opt_.on_warning) opt_.on_warning(abs, st.message());
        return Status::Ok();
      }
    }
    return Apply(*ctx.dir, node, abs);
  }

  Status RestoreFile(DirCtx& ctx, const Node& node, const std::string& abs) {
    ++stats_.files;
    stats_.bytes += node.meta.size;
    Report(abs, node.meta);
    if (opt_.dry_run) return Status::Ok();
    // Existence matters only when existing files may be kept (a cheap lstat).
    const bool existing =
        opt_.overwrite != Overwrite::kAlways && ctx.dir->StatBasic(node.name).ok();
    if (existing && opt_.overwrite == Overwrite::kNever) {
      ++stats_.skipped;
      return Status::Ok();
    }
    // Hardlinks: the first name of a group is written; later names link to it.
    if (node.meta.nlink > 1) {
      const auto key = std::make_pair(node.meta.device, node.meta.inode);
      auto it = links_.find(key);
      if (it != links_.end()) {
        return ctx.dir->MakeHardlink(*it->second.first, it->second.second, node.name)
            .WithContext(abs);
      }
      links_[key] = {ctx.dir, node.name};
    }
    if (existing && opt_.overwrite == Overwrite::kIfChanged) {
      auto same = Matches(*ctx.dir, node);
      if (same.ok() && *same) {
        ++stats_.skipped;
        return Apply(*ctx.dir, node, abs);
      }
    }
    files_in_flight_.Acquire();
    auto created = ctx.dir->CreateFile(node.name);
    if (!created.ok()) {
      files_in_flight_.Release();
      return created.status().WithContext(abs);
    }
    auto shared_file = std::make_shared<fs::File>(std::move(created).value());
    std::shared_ptr<fs::Dir> dir = ctx.dir;
    Pending* pending = &ctx.pending;
    pending->Add();
    pool_.Submit([this, dir, shared_file, &node, abs, pending] {
      Status st = WriteContent(*shared_file, node).WithContext(abs);
      // Verify before the metadata: reading the file would change its atime.
      if (st.ok() && opt_.verify) {
        auto ok = Matches(*dir, node);
        if (!ok.ok()) st = ok.status().WithContext("verify " + abs);
        else if (!*ok) st = Corrupt("verify " + abs + ": restored content does not match the snapshot");
        else ++verified_;
      }
      if (st.ok()) {
        Status meta = shared_file->ApplyMetadata(node.meta, chown_, node.name);
        if (!meta.ok() && opt_.on_warning) opt_.on_warning(abs, "metadata: " + meta.message());
      }
      Status closed = shared_file->Close().WithContext(abs);
      if (st.ok()) st = closed;
      files_in_flight_.Release();
      pending->Done(st);
    });
    return Status::Ok();
  }

  // Verification pass: the file must exist and hold exactly the node's chunks.
  Status VerifyFile(DirCtx& ctx, const Node& node, const std::string& abs) {
    ++stats_.files;
    stats_.bytes += node.meta.size;
    Report(abs, node.meta);
    std::shared_ptr<fs::Dir> dir = ctx.dir;
    Pending* pending = &ctx.pending;
    pending->Add();
    files_in_flight_.Acquire();
    pool_.Submit([this, dir, &node, abs, pending] {
      Status st;
      auto ok = Matches(*dir, node);
      if (!ok.ok()) st = ok.status().WithContext("verify " + abs);
      else if (!*ok) st = Corrupt("verify " + abs + ": content does not match the snapshot's chunks");
      else ++verified_;
      files_in_flight_.Release();
      pending->Done(st);
    });
    return Status::Ok();
  }

  Status WriteContent(const fs::File& f, const Node& node) {
    uint64_t offset = 0;
    for (const Id& id : node.content) {
      LB_ASSIGN_OR_RETURN(Bytes data, repo_.LoadBlob(id));
      LB_RETURN_IF_ERROR(WriteSparse(f, offset, data));
      offset += data.size();
    }
    if (offset != node.meta.size && node.error.empty())
      return Corrupt("content adds up to " + std::to_string(offset) + " bytes, expected " +
                     std::to_string(node.meta.size));
    return f.Truncate(offset);
  }

  // True when the file `node.name` in `dir` holds exactly the node's chunks.
  Result<bool> Matches(const fs::Dir& dir, const Node& node) {
    LB_ASSIGN_OR_RETURN(fs::File f, dir.OpenRead(node.name));
    uint64_t offset = 0;
    Bytes buf;
    for (const Id& id : node.content) {
      auto loc = repo_.index().Find(id);
      if (!loc) return NotFound("blob " + id.Short() + " is not in the index");
      buf.resize(loc->entry.raw_length);
      LB_ASSIGN_OR_RETURN(size_t n, f.ReadFull(offset, buf));
      if (n != buf.size() || repo_.BlobId(buf) != id) return false;
      offset += n;
    }
    uint8_t extra;
    LB_ASSIGN_OR_RETURN(size_t more, f.ReadAt(offset, std::span<uint8_t>(&extra, 1)));
    return more == 0;
  }

  repo::Repository& repo_;
  const Options& opt_;
  const bool verify_only_;
  Budget files_in_flight_{FilesInFlight()};
  ThreadPool pool_;  // after what its tasks use: destroyed (joined) first
  bool chown_ = false;
  Stats stats_;
  std::atomic<uint64_t> verified_{0};
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::shared_ptr<fs::Dir>, std::string>> links_;
};

}  // namespace

Result<Stats> Restore(repo::Repository& repo, const snapshot::Snapshot& snap,
                      const Options& options) {
  Restorer r(repo, options);
  return r.Run(snap);
}

Result<Stats> Verify(repo::Repository& repo, const snapshot::Snapshot& snap,
                     const Options& options) {
  Restorer r(repo, options, /*verify_only=*/true);
  return r.Run(snap);
}

}  // namespace lb::restorer
