// Prewalk: reads the directories to back up (list + lstat) on a thread of its own,
// ahead of the walker and in the walker's order, so the walker takes each
// directory's listing instead of reading it itself.
//
// Why: on a re-backup the walker does little but list directories, lstat every
// entry and compare it with the parent snapshot, and it cannot start before the
// repository is open (key derivation, index), while the second core idles. The
// backup command starts a Prewalk before it opens the repository; by the time the
// walker starts, the first part of the tree has been read, and from then on the
// reading and the comparing run on two threads.
//
// What the walker gets is a directory as it was when the prewalk read it, a
// moment before the walker would have: the same race with writers that any walk
// has (files are read later still, and checked against this lstat then). A
// listing is handed out only for the directory it was read from (same device and
// inode), so a directory replaced in between is read again by the walker.
//
// Order: depth first, a directory's entries lstat()ed before its subdirectories
// are read, names sorted bytewise: the walker's order. Entries matching
// `excludes` are not lstat()ed and excluded directories are not entered; with
// `one_file_system`, directories on another device than their named path are not
// entered. Those, any directory the prewalk could not read or that has more than
// `max_entries` entries, and what is below such a directory, are left to the
// walker.
//
// Memory: until the walker takes its first listing at most `max_entries`
// entries (names with their lstat) are held, then at most kWalkingEntries, or
// one directory of up to `max_entries` when nothing else is held: what was read
// while the repository was opened is kept, but a walker slowed down by reading
// files (a first backup) is not trailed by a large buffer. The prewalk waits
// while the walker catches up (even to publish an empty directory, when more
// than kWalkingEntries are held). Listings the walker has passed without
// taking are dropped.
//
// Thread safety: Take() and Stop() may be called from any one thread (the
// walker) while the prewalk thread runs. The destructor stops and joins it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "fs/dir.h"
#include "fs/pattern.h"

namespace lb::archiver {

// Depth-first order of absolute paths: a directory before everything below it,
// siblings by bytewise name ("/a/b" before "/a-b", since '/' sorts first).
bool DfsLess(std::string_view a, std::string_view b);

class Prewalk {
 public:
  static constexpr size_t kDefaultMaxEntries = 32 * 1024;
  static constexpr size_t kWalkingEntries = 4 * 1024;

  class Listing {
   public:
    uint64_t device = 0, inode = 0;  // of the directory read
    std::vector<std::string> names;  // sorted bytewise, as fs::Dir::List

    // fs::Dir::StatBasic of names[i]; an error for excluded names (never used).
    lb::Result<fs::Metadata> Stat(size_t i) const;
    // Records the StatBasic of the next name.
    void Add(const lb::Result<fs::Metadata>& st);
    size_t stats() const { return basics_.size(); }

   private:
    // What StatBasic fills in, a third of an fs::Metadata (whose strings and
    // xattrs it leaves empty): up to 32k of these wait for the walker.
    struct Basic {
      uint64_t size, inode, device, nlink, rdev;
      int64_t mtime_ns, atime_ns, ctime_ns;
      uint32_t mode, uid, gid;
      fs::FileType type;
      bool failed;
    };
    std::vector<Basic> basics_;
    std::vector<std::pair<size_t, Status>> errors_;  // by index, for failed ones
  };

  // Will read `paths` (absolute, normalised; the named paths themselves are
  // lstat()ed, not followed) once started.
  Prewalk(std::vector<std::string> paths, fs::PatternList excludes, bool one_file_system,
          size_t max_entries = kDefaultMaxEntries);
  ~Prewalk();
  Prewalk(const Prewalk&) = delete;
  Prewalk& operator=(const Prewalk&) = delete;

  // The listing of directory `abs` if the prewalk read it from (device, inode);
  // waits until the prewalk has got that far. nullopt: read it yourself (the
  // prewalk passed it without reading it, was stopped or was not started).
  // Calls must follow DfsLess order; listings before `abs` are dropped.
  std::optional<Listing> Take(const std::string& abs, uint64_t device, uint64_t inode);
  // Starts the reading thread (once).
  void Start();
  // Stops reading (idempotent); Take then hands out only what was already read.
  void Stop();

  // For tests: listings handed out.
  size_t taken() const;

 private:
  struct Sub {
    std::string name;
    uint64_t device, inode;
  };
  void Run();
  // Whether a prewalk waiting to publish n entries may go on (mu_ held): nothing
  // is held, or they fit in half the limit. The wait and the wake both use it.
  bool RoomFor(size_t n) const;
  // Wakes the prewalk waiting for room once half the limit is free (mu_ held).
  void WakeReaderIfRoom();
  // Lists `dir` and lstat()s its entries into `out`; `subs` gets the directories
  // to enter. False when it could not be listed or is too large.
  bool Read(const fs::Dir& dir, const std::string& abs, uint64_t top_device, Listing& out,
            std::vector<Sub>& subs) const;

  struct DfsOrder {
    bool operator()(const std::string& a, const std::string& b) const { return DfsLess(a, b); }
  };

  const std::vector<std::string> tops_;  // sorted, none below another
  const fs::PatternList excludes_;
  const bool one_file_system_;
  const size_t max_entries_;

  mutable std::mutex mu_;
  std::condition_variable room_cv_;   // the prewalk waits for room
  std::condition_variable ready_cv_;  // the walker waits for the prewalk
  // Set while the prewalk waits on room_cv_: the entries it has read (may be 0).
  std::optional<size_t> room_wanted_;
  bool walker_waiting_ = false;
  std::map<std::string, Listing, DfsOrder> ready_;
  size_t held_ = 0;        // entries in ready_
  size_t limit_;           // max_entries_, then kWalkingEntries once the walk began
  // The directory being read, or the last one: the prewalk claims the next
  // directory in the same step that publishes one, so a walker close behind waits
  // for it instead of taking the prewalk for overtaken.
  std::string position_;
  bool reading_ = false;  // position_ is claimed and not yet published
  bool started_ = false;
  bool finished_ = false;  // the thread is done
  bool stop_ = false;
  size_t taken_ = 0;
  std::thread thread_;
};

}  // namespace lb::archiver
