// Scanner: counts the files and bytes a backup will visit, on its own thread, so
// progress can show an ETA. It only lstat()s; it never reads content.
// Thread safety: totals may be read from any thread while the scan runs.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "fs/pattern.h"

namespace lb::archiver {

class Scanner {
 public:
  Scanner(std::vector<std::string> paths, fs::PatternList excludes, bool one_file_system);
  ~Scanner();  // stops the scan and joins
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  bool done() const { return done_; }

 private:
  void Run();

  std::vector<std::string> paths_;
  fs::PatternList excludes_;
  bool one_file_system_;
  std::atomic<uint64_t> files_{0}, bytes_{0};
  std::atomic<bool> done_{false}, stop_{false};
  std::thread thread_;
};

}  // namespace lb::archiver
