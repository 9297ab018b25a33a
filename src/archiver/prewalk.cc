#include "archiver/prewalk.h"

#include <algorithm>
#include <deque>

#include "fs/path.h"

namespace lb::archiver {

using fs::JoinPath;

bool DfsLess(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x == '/') return true;
    if (y == '/') return false;
    return x < y;
  }
  return a.size() < b.size();
}

namespace {

// Sorted by DfsLess, without paths below another path (the walker does the same).
std::vector<std::string> Tops(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end(), DfsLess);
  std::vector<std::string> out;
  for (std::string& p : paths) {
    if (!out.empty()) {
      const std::string& c = out.back();
      if (p == c || (p.starts_with(c) && (c == "/" || p[c.size()] == '/'))) continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

lb::Result<fs::Metadata> Prewalk::Listing::Stat(size_t i) const {
  const Basic& b = basics_.at(i);
  if (b.failed) {
    for (const auto& [index, status] : errors_)
      if (index == i) return status;
  }
  fs::Metadata m;
  m.type = b.type;
  m.mode = b.mode;
  m.uid = b.uid;
  m.gid = b.gid;
  m.size = b.size;
  m.mtime_ns = b.mtime_ns;
  m.atime_ns = b.atime_ns;
  m.ctime_ns = b.ctime_ns;
  m.inode = b.inode;
  m.device = b.device;
  m.nlink = b.nlink;
  m.rdev = b.rdev;
  return m;
}

void Prewalk::Listing::Add(const lb::Result<fs::Metadata>& st) {
  if (!st.ok()) {
    errors_.emplace_back(basics_.size(), st.status());
    basics_.push_back(Basic{});
    basics_.back().failed = true;
    return;
  }
  const fs::Metadata& m = *st;
  basics_.push_back(Basic{m.size, m.inode, m.device, m.nlink, m.rdev, m.mtime_ns, m.atime_ns,
                          m.ctime_ns, m.mode, m.uid, m.gid, m.type, false});
}

Prewalk::Prewalk(std::vector<std::string> paths, fs::PatternList excludes, bool one_file_system,
                 size_t max_entries)
    : tops_(Tops(std::move(paths))),
      excludes_(std::move(excludes)),
      one_file_system_(one_file_system),
      max_entries_(std::max<size_t>(1, max_entries)),
      limit_(max_entries_) {}

Prewalk::~Prewalk() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void Prewalk::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    started_ = true;
    if (tops_.empty()) {
      finished_ = true;
      return;
    }
    if (!stop_) {
      position_ = tops_.front();  // claimed before the thread runs: see position_
      reading_ = true;
    }
  }
  thread_ = std::thread([this] { Run(); });
}

void Prewalk::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stop_ = true;
  reading_ = false;
  room_cv_.notify_one();
  ready_cv_.notify_one();
}

size_t Prewalk::taken() const {
  std::lock_guard<std::mutex> l(mu_);
  return taken_;
}

bool Prewalk::Read(const fs::Dir& dir, const std::string& abs, uint64_t top_device, Listing& out,
                   std::vector<Sub>& subs) const {
  auto names = dir.List();
  if (!names.ok() || names->size() > max_entries_) return false;
  out.names = std::move(names).value();
  for (const std::string& name : out.names) {
    if (!excludes_.empty() && excludes_.Matches(JoinPath(abs, name))) {
      out.Add(Status(Code::kNotFound, "excluded"));
      continue;
    }
    const auto st = dir.StatBasic(name);
    out.Add(st);
    if (st.ok() && st->type == fs::FileType::kDirectory &&
        (!one_file_system_ || st->device == top_device))
      subs.push_back({name, st->device, st->inode});
  }
  return true;
}

void Prewalk::Run() {
  // Depth first with an explicit stack, so the next directory is known (and
  // claimed) when one is published.
  struct Frame {
    fs::Dir dir;
    std::string abs;
    uint64_t top_device;
    std::vector<Sub> subs;
    size_t next = 0;
  };
  struct Next {
    std::string abs;
    const Frame* parent = nullptr;  // null: a top
    const Sub* sub = nullptr;
  };
  std::deque<Frame> stack;  // references stay valid while frames are pushed
  size_t top = 0;
  auto next = [&]() -> std::optional<Next> {
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next < f.subs.size()) {
        const Sub& s = f.subs[f.next++];
        return Next{JoinPath(f.abs, s.name), &f, &s};
      }
      stack.pop_back();
    }
    if (top < tops_.size()) return Next{tops_[top++]};
    return std::nullopt;
  };
  std::optional<Next> cur = next();
  while (cur) {
    Listing listing;
    std::vector<Sub> subs;
    lb::Result<fs::Dir> dir = Status(Code::kNotFound, "not a directory");
    uint64_t top_device = 0;
    if (cur->parent) {
      dir = cur->parent->dir.OpenDir(cur->sub->name);
      top_device = cur->parent->top_device;
      listing.device = cur->sub->device;
      listing.inode = cur->sub->inode;
    } else if (cur->abs == "/") {
      dir = fs::Dir::Open("/");
      auto self = dir.ok() ? dir->StatBasic(".") : lb::Result<fs::Metadata>(dir.status());
      if (self.ok()) {
        top_device = listing.device = self->device;
        listing.inode = self->inode;
      } else {
        dir = self.status();
      }
    } else if (const size_t slash = cur->abs.rfind('/'); slash != std::string::npos) {
      auto parent = fs::Dir::Open(slash == 0 ? "/" : cur->abs.substr(0, slash));
      const std::string name = cur->abs.substr(slash + 1);
      auto self = parent.ok() ? parent->StatBasic(name) : lb::Result<fs::Metadata>(parent.status());
      if (self.ok() && self->type == fs::FileType::kDirectory) {
        dir = parent->OpenDir(name);
        top_device = listing.device = self->device;
        listing.inode = self->inode;
      }
    }
    const bool readable = dir.ok() && Read(*dir, cur->abs, top_device, listing, subs);
    if (readable) stack.push_back(Frame{std::move(dir).value(), cur->abs, top_device, std::move(subs)});
    std::optional<Next> following = next();
    std::unique_lock<std::mutex> l(mu_);
    const size_t n = listing.names.size();
    if (readable && held_ != 0 && held_ + n > limit_) {
      // Full: go on once half the limit is free, so that the walker and the
      // prewalk do not wake each other for every directory.
      // Set even for an empty directory (n == 0), which must be woken all the
      // same: it waits when held_ alone is over the limit.
      room_wanted_ = n;
      room_cv_.wait(l, [&] { return stop_ || RoomFor(n); });
      room_wanted_.reset();
    }
    if (stop_) break;
    if (readable) {
      held_ += n;
      ready_.emplace(cur->abs, std::move(listing));
    }
    if (following) position_ = following->abs;  // claimed: see position_
    reading_ = following.has_value();
    if (walker_waiting_) ready_cv_.notify_one();
    cur = std::move(following);
  }
  std::lock_guard<std::mutex> l(mu_);
  finished_ = true;
  reading_ = false;
  ready_cv_.notify_one();
}

std::optional<Prewalk::Listing> Prewalk::Take(const std::string& abs, uint64_t device,
                                              uint64_t inode) {
  std::unique_lock<std::mutex> l(mu_);
  if (!started_) return std::nullopt;
  limit_ = std::min(max_entries_, kWalkingEntries);
  for (;;) {
    // The walker has passed these: it will not ask for them. Dropping them makes
    // room for the prewalk to go on to `abs`.
    if (!ready_.empty() && DfsLess(ready_.begin()->first, abs)) {
      do {
        held_ -= ready_.begin()->second.names.size();
        ready_.erase(ready_.begin());
      } while (!ready_.empty() && DfsLess(ready_.begin()->first, abs));
      WakeReaderIfRoom();
    }
    if (auto it = ready_.find(abs); it != ready_.end()) {
      Listing out = std::move(it->second);
      held_ -= out.names.size();
      ready_.erase(it);
      WakeReaderIfRoom();
      if (out.device != device || out.inode != inode) return std::nullopt;
      ++taken_;
      return out;
    }
    if (stop_ || finished_ || DfsLess(abs, position_)) return std::nullopt;  // passed it
    if (position_ == abs && !reading_) return std::nullopt;                   // could not read it
    walker_waiting_ = true;  // it has not got there yet
    ready_cv_.wait(l);
    walker_waiting_ = false;
  }
}

bool Prewalk::RoomFor(size_t n) const { return held_ == 0 || held_ + n <= limit_ / 2; }

void Prewalk::WakeReaderIfRoom() {
  if (room_wanted_ && RoomFor(*room_wanted_)) room_cv_.notify_one();
}

}  // namespace lb::archiver
