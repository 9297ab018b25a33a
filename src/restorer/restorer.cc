#include "restorer/restorer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/budget.h"
#include "base/direct_io.h"
#include "base/scratch.h"
#include "base/thread_pool.h"
#include "base/work_share.h"
#include "fs/dir.h"
#include "fs/path.h"
#include "snapshot/store.h"

namespace lb::restorer {

using snapshot::Node;

namespace {

constexpr size_t kBlock = 4096;
// Files are planned in batches of at most kBatchFiles files, kBatchBytes bytes of
// content or BatchDirs() directories; at most kBatchesInFlight batches are planned
// and unfinished, so the walker plans the next ones while earlier ones are written.
constexpr size_t kBatchFiles = 2048;
constexpr uint64_t kBatchBytes = 256u << 20;
constexpr size_t kBatchesInFlight = 4;
// Descriptors: a batch holds one for each of its directories, and a quarter of
// the process's limit (at most 512) is for them; files kept open from creation
// get up to half of what is left after the backend's kept descriptors and
// kOwnReserved (HeldFiles); at least a quarter (and those) is left to everything
// else.
size_t DescriptorLimit() {
  struct rlimit rl = {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
  return rl.rlim_cur;
}
size_t BatchDirs() {
  const size_t allowance = std::min<size_t>(512, DescriptorLimit() / 4);
  return std::max<size_t>(allowance / (2 * kBatchesInFlight), 1);
}
// A file of one chunk keeps the descriptor it was created with until that chunk
// is written (no second open and close); half of the limit less what is reserved
// (at most all the files in flight) is for them. Beyond it, files are closed and
// reopened: with a quarter (5000 of 20000 here), a 71k-file restore made 110k
// openat calls; with half, 85k.
// Reserved, as it does not shrink with the limit: the descriptors the backend
// keeps open between reads (`backend_kept`: 64 for a local repository's 32 kept
// packs) and kOwnReserved for the restore's own (each pool and writer thread's
// file and O_DIRECT descriptors, stdio, the lock). With a plain half, a limit of
// 48 left 8 descriptors spare and a test restoring under it failed now and then
// ("Too many open files") on a loaded machine.
constexpr size_t kOwnReserved = 32;
size_t HeldFiles(size_t backend_kept) {
  const size_t limit = DescriptorLimit();
  const size_t reserved = backend_kept + kOwnReserved;
  const size_t spare = limit > reserved ? limit - reserved : 0;
  return std::max<size_t>(std::min<size_t>(kBatchFiles * kBatchesInFlight, spare / 2), 1);
}
// Blobs of one pack closer than kGap are read in one request of at most kMaxRun
// bytes (more requests would cost round trips, larger ones memory and parallelism).
constexpr uint64_t kGap = 1u << 20;
constexpr uint64_t kMaxRun = 8u << 20;
// Bytes of large pieces copied for the writer threads and not yet written.
constexpr size_t kWritingBytes = 32u << 20;

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
// Large runs go through `direct` (O_DIRECT, see base/direct_io.h) when it is open.
// Returns where the last byte written ends (`offset` when all were skipped).
Result<uint64_t> WriteSparse(const fs::File& f, const fs::File& direct, uint64_t offset, ByteSpan data) {
  uint64_t end = offset;
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
    LB_RETURN_IF_ERROR(WriteAtDirect(f.fd(), direct.fd(), offset + i, data.subspan(i, run_end - i), "file"));
    i = run_end;
    end = offset + run_end;
  }
  return end;
}

// A file's first piece of kSmallDirectMin up to kDirectMin bytes (most often
// the whole file) also bypasses the page cache: files of 64-256 KiB hold 15 % of
// the default corpus, and each of their pages costs a fresh page on this VM (see
// base/direct_io.h). Opening a second descriptor for them (ReopenDirect, a path
// lookup through /proc) costs about what it saves, so the piece's descriptor
// itself is switched to O_DIRECT for its aligned part (WriteAtDirectSwitched).
// That is safe because the descriptor is this write's own: created or opened by
// the restore without status flags, and not shared while it writes.
constexpr size_t kSmallDirectMin = 64u << 10;

bool GoesDirect(uint64_t offset, size_t size) {
  return size >= kDirectMin || (offset == 0 && size >= kSmallDirectMin);
}

// Writes `data` (a piece under kDirectMin that GoesDirect) with
// WriteAtDirectSwitched and returns true; false, having written nothing, when it
// does not qualify or holds an all-zero block (which WriteSparse keeps as a hole).
bool WriteSmallDirect(int fd, uint64_t offset, ByteSpan data, Result<uint64_t>* end) {
  if (data.size() >= kDirectMin || !GoesDirect(offset, data.size())) return false;
  for (size_t i = 0; i < data.size(); i += kBlock)
    if (IsZero(data.data() + i, std::min(kBlock, data.size() - i))) return false;
  Status st = WriteAtDirectSwitched(fd, offset, data, "file");
  *end = st.ok() ? Result<uint64_t>(offset + data.size()) : Result<uint64_t>(st);
  return true;
}

// A directory being restored. It is finished (its metadata applied, then its
// parent told) when the walk has left it and all of its files and subdirectories
// are finished; whoever finishes the last of them does that, walker or worker.
struct DirCtx {
  std::shared_ptr<DirCtx> parent;  // keeps the parent's descriptor and tree alive
  const Node* node = nullptr;      // in parent->tree; null for the target itself
  std::string abs;                 // path inside the snapshot
  std::shared_ptr<const snapshot::Tree> tree;  // this directory's entries, once loaded
  std::shared_ptr<fs::Dir> dir;
  bool materialised = false;  // exists (or would, in dry-run)
  // Made by this restore below directories that pass nothing on to new entries
  // (fs::Dir::PassesOnAttributes): a file created in it gets exactly our owner
  // and the umasked mode it is created with.
  bool pristine = false;
  // Set when pristine (not for the target): the owner and mode it was made with.
  std::optional<fs::Known> known;
  std::atomic<size_t> outstanding{1};  // the walk + unfinished files and subdirectories
};

// A regular file whose content is being written. The walker creates it empty;
// each write opens it, so it holds no descriptor in between.
struct FileJob {
  std::shared_ptr<DirCtx> dir;  // holds the tree that holds `node`
  const Node* node = nullptr;
  std::string abs;
  uint64_t size = 0;                 // sum of its chunks' lengths
  std::atomic<size_t> remaining{0};  // chunks not yet written
  // Where the last byte written ends: the file was created empty, so when this is
  // its size no truncate is needed (a trailing hole needs one).
  std::atomic<uint64_t> written_end{0};
  // The descriptor it was created with, kept for its only chunk (see HeldFiles).
  std::optional<fs::File> created;
  // Set when it was created new in a pristine directory: the metadata it holds.
  std::optional<fs::Known> known;
  std::mutex mu;                     // guards error
  Status error;  // the first error writing it
};

// A later name of a hardlinked file, linked once the batch holding the first
// name has created it.
struct PendingLink {
  std::shared_ptr<DirCtx> ctx;  // the directory of the new name
  const Node* node = nullptr;
  std::string abs;
  std::shared_ptr<fs::Dir> from_dir;  // the first name
  std::string from_name;
};

// One chunk of one file: where it is stored and where it goes.
struct Piece {
  const repo::PackInfo* pack = nullptr;  // owned by the index
  repo::BlobEntry entry;
  std::shared_ptr<FileJob> job;
  uint64_t offset = 0;  // in the file
};

using fs::JoinPath;

class Restorer {
 public:
  Restorer(repo::Repository& repo, const Options& opt, bool verify_only = false)
      : repo_(repo), opt_(opt), verify_only_(verify_only),
        pool_(opt.threads ? opt.threads : ThreadPool::DefaultThreads()) {
    chown_ = fs::IsRoot();
  }

  Result<Stats> Run(const snapshot::Snapshot& snap) {
    auto root = std::make_shared<DirCtx>();
    root->abs = "/";
    root->materialised = true;
    if (!opt_.dry_run) {
      auto d = verify_only_ ? fs::Dir::Open(opt_.target) : fs::Dir::OpenOrCreate(opt_.target);
      if (!d.ok()) return d.status().WithContext("target " + opt_.target);
      root->dir = std::make_shared<fs::Dir>(std::move(d).value());
      root->pristine = !verify_only_ && !root->dir->PassesOnAttributes();
    }
    Status st = RestoreTree(root, snap.tree);
    root.reset();
    DispatchBatch();  // even after an error: its files were created and are counted in their directories
    pool_.Wait();
    writers_.Wait();  // pool tasks queue writes; writes queue nothing
    if (!st.ok()) return st;
    {
      std::lock_guard<std::mutex> l(error_mu_);
      if (!error_.ok()) return error_;
    }
    Stats s = stats_;
    s.verified = verified_;
    return s;
  }

 private:
  void Fail(const Status& st) {
    if (st.ok()) return;
    std::lock_guard<std::mutex> l(error_mu_);
    if (error_.ok()) error_ = st;
    failed_ = true;
  }

  // Marks one piece of work of `c` (the walk, a file or a subdirectory) finished;
  // the last one finishes the directory itself.
  void Finish(std::shared_ptr<DirCtx> c) {
    while (c && c->outstanding.fetch_sub(1) == 1) {
      if (c->node && c->materialised && !opt_.dry_run && !verify_only_) {
        c->dir.reset();
        Apply(*c->parent->dir, *c->node, c->abs, c->known ? &*c->known : nullptr);
      }
      c = std::move(c->parent);
    }
  }

  Status Materialise(DirCtx& c) {
    if (c.materialised) return Status::Ok();
    LB_RETURN_IF_ERROR(Materialise(*c.parent));
    c.materialised = true;
    if (opt_.dry_run) return Status::Ok();
    bool created = false;
    const uint32_t mode = DirCreateMode(c);
    if (!verify_only_) LB_RETURN_IF_ERROR(c.parent->dir->MakeDir(c.node->name, &created, mode));
    c.pristine = created && c.parent->pristine;
    if (c.pristine) c.known = fs::Known{euid_, egid_, umask_ ? mode & ~*umask_ : kUnknownMode};
    LB_ASSIGN_OR_RETURN(fs::Dir d, c.parent->dir->OpenDir(c.node->name));
    c.dir = std::make_shared<fs::Dir>(std::move(d));
    return Status::Ok();
  }

  void Report(const std::string& abs, const fs::Metadata& m) {
    if (opt_.on_entry) opt_.on_entry(abs, m);
  }

  // Walks the directory `ctx` (on the calling thread) and drops the walk's share
  // of it; files and subdirectories may still be in flight when it returns.
  Status RestoreTree(const std::shared_ptr<DirCtx>& ctx, const Id& tree_id) {
    Status st = WalkTree(ctx, tree_id);
    Finish(ctx);
    return st;
  }

  Status WalkTree(const std::shared_ptr<DirCtx>& ctx, const Id& tree_id) {
    LB_ASSIGN_OR_RETURN(snapshot::Tree loaded, snapshot::LoadTree(repo_, tree_id));
    ctx->tree = std::make_shared<const snapshot::Tree>(std::move(loaded));
    for (const Node& node : ctx->tree->nodes) {
      if (failed_) return Status::Ok();  // Run reports the worker's error
      const std::string abs = JoinPath(ctx->abs, node.name);
      if (opt_.excludes.Matches(abs)) continue;
      const bool included = opt_.includes.empty() || opt_.includes.Matches(abs);
      Status st;
      if (node.meta.type == fs::FileType::kDirectory) {
        if (!included && !opt_.includes.MayMatchBelow(abs)) continue;
        st = RestoreDir(ctx, node, abs, included);
      } else if (included) {
        st = RestoreLeaf(ctx, node, abs);
      }
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status RestoreDir(const std::shared_ptr<DirCtx>& parent, const Node& node, const std::string& abs,
                    bool included) {
    auto child = std::make_shared<DirCtx>();
    child->parent = parent;
    child->node = &node;
    child->abs = abs;
    parent->outstanding.fetch_add(1);
    if (included) {
      Status st = Materialise(*child);
      if (!st.ok()) {
        child->materialised = false;  // nothing to apply metadata to
        Finish(child);
        return st.WithContext(abs);
      }
    }
    LB_RETURN_IF_ERROR(RestoreTree(child, node.subtree));
    if (child->materialised) {
      ++stats_.dirs;
      Report(abs, node.meta);
    }
    return Status::Ok();
  }

  void Apply(const fs::Dir& dir, const Node& node, const std::string& abs,
             const fs::Known* known = nullptr) {
    Status st = dir.ApplyMetadata(node.name, node.meta, chown_, known);
    if (!st.ok() && opt_.on_warning) opt_.on_warning(abs, "metadata: " + st.message());
  }

  Status RestoreLeaf(const std::shared_ptr<DirCtx>& ctx, const Node& node, const std::string& abs) {
    LB_RETURN_IF_ERROR_CTX(Materialise(*ctx), abs);
    const fs::Metadata& m = node.meta;
    if (m.type == fs::FileType::kRegular)
      return verify_only_ ? VerifyFile(ctx, node, abs) : RestoreFile(ctx, node, abs);
    ++stats_.others;
    Report(abs, m);
    if (opt_.dry_run) return Status::Ok();
    if (verify_only_) {
      auto st = ctx->dir->StatBasic(node.name);
      if (!st.ok()) return st.status().WithContext("verify " + abs);
      if (st->type != m.type) return Corrupt("verify " + abs + ": wrong file type");
      return Status::Ok();
    }
    if (opt_.overwrite == Overwrite::kNever && ctx->dir->StatBasic(node.name).ok()) {
      ++stats_.skipped;
      return Status::Ok();
    }
    if (m.type == fs::FileType::kSymlink) {
      LB_RETURN_IF_ERROR_CTX(ctx->dir->MakeSymlink(node.name, m.symlink_target), abs);
      // A new symlink in a pristine directory has our owner and no xattrs (its
      // mode is never set).
      if (ctx->pristine) {
        const fs::Known known{euid_, egid_, kUnknownMode};
        Apply(*ctx->dir, node, abs, &known);
        return Status::Ok();
      }
    } else {
      Status st = ctx->dir->MakeNode(node.name, m);
      if (!st.ok()) {
        if (opt_.on_warning) opt_.on_warning(abs, st.message());
        return Status::Ok();
      }
    }
    Apply(*ctx->dir, node, abs);
    return Status::Ok();
  }

  Status RestoreFile(const std::shared_ptr<DirCtx>& ctx, const Node& node, const std::string& abs) {
    ++stats_.files;
    stats_.bytes += node.meta.size;
    Report(abs, node.meta);
    if (opt_.dry_run) return Status::Ok();
    // Existence matters only when existing files may be kept (a cheap lstat).
    const bool existing =
        opt_.overwrite != Overwrite::kAlways && ctx->dir->StatBasic(node.name).ok();
    if (existing && opt_.overwrite == Overwrite::kNever) {
      ++stats_.skipped;
      return Status::Ok();
    }
    // Hardlinks: the first name of a group is written; later names link to it once
    // the batch that creates the first name has created it.
    const auto link_key = std::make_pair(node.meta.device, node.meta.inode);
    if (node.meta.nlink > 1) {
      auto it = links_.find(link_key);
      if (it != links_.end()) {
        ctx->outstanding.fetch_add(1);
        batch_links_.push_back({ctx, &node, abs, it->second.first, it->second.second});
        return Status::Ok();
      }
      links_[link_key] = {ctx->dir, node.name};
    }
    if (existing && opt_.overwrite == Overwrite::kIfChanged) {
      auto same = Matches(*ctx->dir, node);
      if (same.ok() && *same) {
        ++stats_.skipped;
        Apply(*ctx->dir, node, abs);
        return Status::Ok();
      }
    }
    // Never wait for room that only the batch not yet planned could free.
    if (!files_in_flight_.TryAcquire()) {
      DispatchBatch();
      files_in_flight_.Acquire();
    }
    auto job = std::make_shared<FileJob>();
    job->dir = ctx;
    job->node = &node;
    job->abs = abs;
    ctx->outstanding.fetch_add(1);
    if (batch_.empty() || batch_.back()->dir != ctx) ++batch_dirs_;
    batch_.push_back(std::move(job));
    batch_bytes_ += node.meta.size;
    if (batch_.size() >= kBatchFiles || batch_bytes_ >= kBatchBytes || batch_dirs_ >= batch_dirs_limit_)
      DispatchBatch();
    return Status::Ok();
  }

  // Creates the batch's files (empty; closed unless kept for their only chunk),
  // one directory at a time: the walker and pool helpers take different
  // directories, since creating entries of one directory from several threads
  // makes them wait on (and spin for) its lock. A file that cannot be created
  // keeps the error; its content is not planned.
  void CreateFiles(const std::vector<std::shared_ptr<FileJob>>& jobs) {
    std::vector<size_t> starts;  // first job of each directory's run of jobs
    for (size_t i = 0; i < jobs.size(); ++i)
      if (i == 0 || jobs[i]->dir != jobs[i - 1]->dir) starts.push_back(i);
    starts.push_back(jobs.size());
    auto create = [&](size_t begin, size_t end) {
      for (size_t i = starts[begin]; i < starts[end]; ++i) {
        FileJob& job = *jobs[i];
        bool created = false;
        const uint32_t mode = CreateMode(job);
        auto f = job.dir->dir->CreateFile(job.node->name, mode, &created);
        if (f.ok() && created && job.dir->pristine)
          job.known = fs::Known{euid_, egid_, umask_ ? mode & ~*umask_ : kUnknownMode};
        if (f.ok() && job.node->content.size() == 1 && held_files_.TryAcquire()) {
          job.created.emplace(std::move(f).value());
          continue;
        }
        Status st = f.ok() ? f->Close() : f.status();
        if (!st.ok()) job.error = st.WithContext(job.abs);
      }
    };
    WorkShare work(starts.size() - 1, 1, create, pool_, pool_.size(), /*urgent=*/true);
    work.Finish();
  }

  // The mode a file is created with: its own (and owner-write, to be written and
  // reopened) in a pristine directory when the umask keeps all of it, so that no
  // chmod is needed after; else 0600. Setuid/setgid/sticky bits are always set by
  // chmod after the owner.
  uint32_t CreateMode(const FileJob& job) const {
    const uint32_t want = job.node->meta.mode & 07777;
    if (!job.dir->pristine || !umask_ || (want & 07000) != 0 || (want & *umask_) != 0) return 0600;
    return want | 0200;
  }

  // The mode a directory is made with: in a pristine parent, its own plus
  // owner-rwx (the restore writes into it; a mode without them is set when it is
  // done) when the umask keeps all of it and it has no setuid/setgid/sticky bit,
  // so that no chmod is needed after; else 0700.
  uint32_t DirCreateMode(const DirCtx& c) const {
    const uint32_t want = c.node->meta.mode & 07777;
    if (!c.parent->pristine || !umask_ || (want & 07000) != 0 || (want & *umask_) != 0) return 0700;
    return want | 0700;
  }

  // Links the batch's later hardlink names to their first names (created by now).
  void MakeLinks() {
    std::vector<PendingLink> links = std::move(batch_links_);
    batch_links_.clear();
    for (PendingLink& l : links) {
      Fail(l.ctx->dir->MakeHardlink(*l.from_dir, l.from_name, l.node->name).WithContext(l.abs));
      Finish(std::move(l.ctx));
    }
  }

  // Plans the batch's chunks by pack: one pool task per run of nearby blobs in a
  // pack, which reads the run once and writes each blob to every place it goes.
  // Files without content (or with a chunk missing from the index) are finished
  // here.
  void DispatchBatch() {
    std::vector<std::shared_ptr<FileJob>> jobs = std::move(batch_);
    batch_.clear();
    batch_bytes_ = 0;
    batch_dirs_ = 0;
    CreateFiles(jobs);
    MakeLinks();
    std::vector<const repo::PackInfo*> order;  // packs in the order first needed
    std::unordered_map<const repo::PackInfo*, std::vector<Piece>> by_pack;
    std::vector<std::shared_ptr<FileJob>> finish_now;
    for (const auto& job : jobs) {
      const Node& node = *job->node;
      std::vector<Piece> pieces;
      uint64_t offset = 0;
      for (const Id& id : node.content) {
        auto loc = repo_.index().Find(id);
        if (!loc) {
          job->error = NotFound("blob " + id.Short() + " is not in the index");
          break;
        }
        pieces.push_back({loc->pack, loc->entry, job, offset});
        offset += loc->entry.raw_length;
      }
      job->size = offset;
      if (!job->error.ok() || pieces.empty()) {
        finish_now.push_back(job);
        continue;
      }
      job->remaining = pieces.size();
      for (Piece& piece : pieces) {
        auto [it, fresh] = by_pack.try_emplace(piece.pack);
        if (fresh) order.push_back(piece.pack);
        it->second.push_back(std::move(piece));
      }
    }
    for (const repo::PackInfo* pack : order) SubmitRuns(*pack, std::move(by_pack[pack]));
    for (const auto& job : finish_now) FinishFile(*job, std::nullopt);
  }

  void SubmitRuns(const repo::PackInfo& pack, std::vector<Piece> pieces) {
    std::stable_sort(pieces.begin(), pieces.end(),
                     [](const Piece& a, const Piece& b) { return a.entry.offset < b.entry.offset; });
    size_t begin = 0;
    while (begin < pieces.size()) {
      const uint64_t start = pieces[begin].entry.offset;
      uint64_t end = start + pieces[begin].entry.length;
      size_t i = begin + 1;
      for (; i < pieces.size(); ++i) {
        const repo::BlobEntry& e = pieces[i].entry;
        const uint64_t e_end = std::max<uint64_t>(end, e.offset + e.length);
        if (e.offset > end + kGap || e_end - start > kMaxRun) break;
        end = e_end;
      }
      auto run = std::make_shared<std::vector<Piece>>(std::make_move_iterator(pieces.begin() + begin),
                                                      std::make_move_iterator(pieces.begin() + i));
      pool_.Submit([this, &pack, run, start, end] { WriteRun(pack, *run, start, end); });
      begin = i;
    }
  }

  // Reads bytes [start, end) of the pack once and writes every piece from them.
  // A blob that cannot be opened from this read is loaded on its own, which tries
  // its other stored copies and reads once more before calling it damage.
  void WriteRun(const repo::PackInfo& pack, const std::vector<Piece>& run, uint64_t start,
                uint64_t end) {
    // Reused by this pool thread from run to run: not allocated and zeroed each
    // time (that was 2-3 % of a restore's CPU time: memset and page faults; as a
    // growing vector, half of a restore's page faults).
    // (Reading ahead on a thread of its own, 32 MiB ahead of the pool, was tried:
    // more CPU, no faster, and 50-60 MiB more peak RSS.)
    static thread_local Scratch buf;
    uint8_t* const data = buf.Get(end - start);
    const Status read =
        data == nullptr ? Internal("pack " + pack.id.Short() + ": out of memory")
                        : repo_.backend().LoadInto({storage::FileKind::kData, pack.id.Hex()}, start,
                                                   std::span<uint8_t>(data, end - start));
    for (size_t i = 0; i < run.size();) {
      const repo::BlobEntry& e = run[i].entry;
      Result<ByteSpan> plain =
          read.ok()
              ? repo_.OpenBlobInPlace(pack, e, std::span<uint8_t>(data + (e.offset - start), e.length))
              : Result<ByteSpan>(read);
      Result<Bytes> loaded = Bytes();
      if (!plain.ok()) {
        loaded = repo_.LoadBlob(e.id);
        plain = loaded.ok() ? Result<ByteSpan>(ByteSpan(*loaded)) : Result<ByteSpan>(loaded.status());
      }
      // Every piece of this blob (the same chunk in several places) sits next to it.
      for (; i < run.size() && run[i].entry.offset == e.offset; ++i)
        WritePiece(run[i].job, run[i].offset, plain);
    }
  }

  // The job's file (created by CreateFiles) open for writing: the descriptor it
  // was created with when it kept one, else opened again.
  Result<fs::File> OpenFile(FileJob& job) {
    if (job.created) {
      fs::File f = std::move(*job.created);
      job.created.reset();
      held_files_.Release();
      return f;
    }
    return job.dir->dir->OpenWrite(job.node->name);
  }

  void RecordError(FileJob& job, const Status& st) {
    if (st.ok()) return;
    std::lock_guard<std::mutex> l(job.mu);
    if (job.error.ok()) job.error = st;
  }

  // A piece that goes direct (GoesDirect) is written on a writer thread: the pool
  // thread copies it into a buffer (aligned like its offset, so the direct write
  // needs no staging) and goes on decoding while the device writes; a direct
  // write into new blocks waits for the device (about 0.9 GB/s here). The
  // buffers are kept and reused (see base/scratch.h: fresh memory costs a page
  // fault per page). Other pieces, and any piece when no buffer can be
  // allocated, are written by the pool thread.
  void WritePiece(const std::shared_ptr<FileJob>& job, uint64_t offset, const Result<ByteSpan>& plain) {
    if (plain.ok() && GoesDirect(offset, plain->size())) {
      const size_t size = plain->size();
      writing_.Acquire(size);
      std::shared_ptr<Scratch> buf = TakeBuffer(size);
      uint8_t* data = AlignedFor(*buf, size, offset);
      if (data != nullptr) {
        std::memcpy(data, plain->data(), size);
        writers_.Submit([this, job, offset, buf, data, size] {
          WriteNow(*job, offset, ByteSpan(data, size));
          GiveBack(buf);
          writing_.Release(size);
        });
        return;
      }
      writing_.Release(size);
    }
    WriteNow(*job, offset, plain);
  }

  // The kept buffer that fits `size` most closely (the smallest that holds it,
  // else the largest, to be grown): a small piece must not hold a large buffer,
  // as the pieces in flight are counted by their size.
  std::shared_ptr<Scratch> TakeBuffer(size_t size) {
    std::lock_guard<std::mutex> l(buffers_mu_);
    if (buffers_.empty()) return std::make_shared<Scratch>(/*huge=*/false);
    size_t best = 0;
    for (size_t i = 1; i < buffers_.size(); ++i) {
      const size_t c = buffers_[i]->capacity(), b = buffers_[best]->capacity();
      if (b >= size ? (c >= size && c < b) : c > b) best = i;
    }
    std::shared_ptr<Scratch> b = std::move(buffers_[best]);
    buffers_[best] = std::move(buffers_.back());
    buffers_.pop_back();
    kept_bytes_ -= b->capacity();
    return b;
  }

  // Keeps the buffer for the next piece, unless the kept ones already hold as
  // much as may be in flight (then it is freed: peak memory stays bounded).
  void GiveBack(std::shared_ptr<Scratch> b) {
    std::lock_guard<std::mutex> l(buffers_mu_);
    if (kept_bytes_ + b->capacity() > kWritingBytes) return;
    kept_bytes_ += b->capacity();
    buffers_.push_back(std::move(b));
  }

  // Writes one piece of the job's file (or records why it cannot) and finishes the
  // file when it was the last.
  void WriteNow(FileJob& job, uint64_t offset, const Result<ByteSpan>& plain) {
    // Only this piece is left when remaining is 1 (the common case, a file of one
    // chunk): finish through this descriptor. Otherwise close first, so that a
    // close error is recorded before another thread may finish the file.
    const bool last = job.remaining.load() == 1;
    Status st = plain.status();
    std::optional<fs::File> f;
    if (st.ok()) {
      auto opened = OpenFile(job);
      if (opened.ok()) {
        f.emplace(std::move(opened).value());
        // Restored files are not read again soon: large chunks bypass the page cache.
        Result<uint64_t> end = uint64_t{0};
        if (!WriteSmallDirect(f->fd(), offset, *plain, &end)) {
          fs::File direct(plain->size() >= kDirectMin ? ReopenDirect(f->fd(), O_WRONLY) : -1);
          end = WriteSparse(*f, direct, offset, *plain);
        }
        st = end.status();
        if (end.ok()) {
          uint64_t seen = job.written_end.load();
          while (*end > seen && !job.written_end.compare_exchange_weak(seen, *end)) {
          }
        }
      } else {
        st = opened.status();
      }
    }
    RecordError(job, st);
    if (!last && f) {
      RecordError(job, f->Close());
      f.reset();
    }
    if (job.remaining.fetch_sub(1) == 1) FinishFile(job, std::move(f));
  }

  // All chunks are written (or failed): set the size, verify, apply metadata, close.
  void FinishFile(FileJob& job, std::optional<fs::File> f) {
    const Node& node = *job.node;
    Status st;
    {
      std::lock_guard<std::mutex> l(job.mu);
      st = job.error;
    }
    if (st.ok() && job.size != node.meta.size && node.error.empty())
      st = Corrupt("content adds up to " + std::to_string(job.size) + " bytes, expected " +
                   std::to_string(node.meta.size));
    // Opened again unless a write handed over its descriptor; one kept from
    // creation that no write took (no content, or an error) is used or closed here.
    if (!f && (st.ok() || job.created)) {
      auto opened = OpenFile(job);
      if (opened.ok()) f.emplace(std::move(opened).value());
      else if (st.ok()) st = opened.status();
    }
    if (st.ok() && job.written_end.load() != job.size) st = f->Truncate(job.size);
    st = st.WithContext(job.abs);
    // Verify before the metadata: reading the file would change its atime.
    if (st.ok() && opt_.verify) st = CheckContent(*job.dir->dir, node, job.abs);
    if (st.ok()) {
      Status meta = f->ApplyMetadata(node.meta, chown_, node.name, job.known ? &*job.known : nullptr);
      if (!meta.ok() && opt_.on_warning) opt_.on_warning(job.abs, "metadata: " + meta.message());
    }
    if (f) {
      Status closed = f->Close().WithContext(job.abs);
      if (st.ok()) st = closed;
    }
    files_in_flight_.Release();
    Fail(st);
    Finish(std::move(job.dir));
  }

  // Verification pass: the file must exist and hold exactly the node's chunks.
  Status VerifyFile(const std::shared_ptr<DirCtx>& ctx, const Node& node, const std::string& abs) {
    ++stats_.files;
    stats_.bytes += node.meta.size;
    Report(abs, node.meta);
    ctx->outstanding.fetch_add(1);
    verify_in_flight_.Acquire();
    pool_.Submit([this, ctx, &node, abs]() mutable {
      Status st = CheckContent(*ctx->dir, node, abs);
      verify_in_flight_.Release();
      Fail(st);
      Finish(std::move(ctx));
    });
    return Status::Ok();
  }

  // Matches as a verification result: counts the file as verified, or says why not.
  Status CheckContent(const fs::Dir& dir, const Node& node, const std::string& abs) {
    auto ok = Matches(dir, node);
    if (!ok.ok()) return ok.status().WithContext("verify " + abs);
    if (!*ok) return Corrupt("verify " + abs + ": content does not match the snapshot's chunks");
    ++verified_;
    return Status::Ok();
  }

  // True when the file `node.name` in `dir` holds exactly the node's chunks.
  // Large chunks are read past the page cache: what the disk holds, not what a
  // restore just left in memory.
  Result<bool> Matches(const fs::Dir& dir, const Node& node) {
    LB_ASSIGN_OR_RETURN(fs::File f, dir.OpenRead(node.name));
    fs::File direct(node.meta.size >= kDirectMin ? ReopenDirect(f.fd(), O_RDONLY) : -1);
    uint64_t offset = 0;
    Bytes buf;
    for (const Id& id : node.content) {
      auto loc = repo_.index().Find(id);
      if (!loc) return NotFound("blob " + id.Short() + " is not in the index");
      buf.resize(loc->entry.raw_length);
      const int via = buf.size() >= kDirectMin ? direct.fd() : -1;
      LB_ASSIGN_OR_RETURN(size_t n, ReadAtDirect(f.fd(), via, offset, buf, "file"));
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
  // Files planned or waiting to be planned and not finished (memory, not descriptors).
  // A walker that has to wait goes on once half a batch of room is free: woken at
  // every finished file, it planned batches of one file each (9.6k runs of one
  // blob, a pool task and a pack read each, in a 71k-file restore).
  Budget files_in_flight_{kBatchFiles * kBatchesInFlight, /*slack=*/kBatchFiles / 2};
  const size_t batch_dirs_limit_ = BatchDirs();
  // Descriptors kept from creation (FileJob::created).
  Budget held_files_{HeldFiles(repo_.backend().KeptDescriptors())};
  Budget verify_in_flight_{128};  // Verify: files queued (each holds its directory)
  bool chown_ = false;
  // Who new files belong to and the umask (CreateMode, FileJob::known).
  const uint32_t euid_ = ::geteuid(), egid_ = ::getegid();
  const std::optional<uint32_t> umask_ = fs::Umask();
  static constexpr uint32_t kUnknownMode = ~0u;
  Stats stats_;  // walker only
  std::atomic<uint64_t> verified_{0};
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::shared_ptr<fs::Dir>, std::string>> links_;
  std::vector<std::shared_ptr<FileJob>> batch_;  // not yet planned (walker only)
  std::vector<PendingLink> batch_links_;         // made after batch_ is created (walker only)
  uint64_t batch_bytes_ = 0;
  size_t batch_dirs_ = 0;
  std::mutex error_mu_;
  Status error_;
  std::atomic<bool> failed_{false};
  // Large pieces being written (WritePiece): their bytes, bounded, and the threads
  // that write them (two: the device gets two requests at once).
  Budget writing_{kWritingBytes};
  std::mutex buffers_mu_;
  std::vector<std::shared_ptr<Scratch>> buffers_;  // for WritePiece, free to take
  size_t kept_bytes_ = 0;                          // their capacity
  ThreadPool writers_{2};
  ThreadPool pool_;  // last: destroyed (joined) before what its tasks (and the writers') use
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
