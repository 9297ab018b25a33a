#include "archiver/scanner.h"

#include <functional>

#include "fs/dir.h"
#include "fs/path.h"

namespace lb::archiver {

using fs::JoinPath;

Scanner::Scanner(std::vector<std::string> paths, fs::PatternList excludes, bool one_file_system)
    : paths_(std::move(paths)), excludes_(std::move(excludes)), one_file_system_(one_file_system) {
  thread_ = std::thread([this] { Run(); });
}

Scanner::~Scanner() {
  stop_ = true;
  thread_.join();
}

void Scanner::Run() {
  std::function<void(const fs::Dir&, const std::string&, uint64_t)> walk =
      [&](const fs::Dir& dir, const std::string& abs, uint64_t device) {
        auto names = dir.List();
        if (!names.ok()) return;
        for (const auto& name : *names) {
          if (stop_) return;
          const std::string child = JoinPath(abs, name);
          if (excludes_.Matches(child)) continue;
          auto m = dir.StatBasic(name);
          if (!m.ok()) continue;
          if (m->type == fs::FileType::kDirectory) {
            if (one_file_system_ && m->device != device) continue;
            auto sub = dir.OpenDir(name);
            if (sub.ok()) walk(*sub, child, device);
          } else if (m->type == fs::FileType::kRegular) {
            ++files_;
            bytes_ += m->size;
          }
        }
      };
  for (const auto& p : paths_) {
    if (stop_) break;
    size_t slash = p.rfind('/');
    std::string parent = slash == 0 ? "/" : p.substr(0, slash);
    std::string name = p.substr(slash + 1);
    auto dir = fs::Dir::Open(parent);
    if (!dir.ok()) continue;
    if (name.empty()) {  // "/"
      auto m = dir->StatBasic(".");
      if (m.ok()) walk(*dir, "/", m->device);
      continue;
    }
    auto m = dir->StatBasic(name);
    if (!m.ok()) continue;
    if (m->type == fs::FileType::kRegular) {
      ++files_;
      bytes_ += m->size;
    } else if (m->type == fs::FileType::kDirectory) {
      auto sub = dir->OpenDir(name);
      if (sub.ok()) walk(*sub, p, m->device);
    }
  }
  done_ = true;
}

}  // namespace lb::archiver
