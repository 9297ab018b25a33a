// lifeboat backup.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "app/commands.h"
#include "archiver/archiver.h"
#include "archiver/prewalk.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

struct BackupFlags {
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::string host;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  bool one_file_system = false;
  bool dry_run = false;
  std::string parent;
  bool force = false;
  bool use_stdin = false;
  std::string stdin_name = "stdin";
  bool from_command = false;
  std::vector<std::string> command;
  std::string compression = "default";
};

// Lexically normalises an absolute or relative path to an absolute one.
std::string Absolute(const std::string& p) {
  std::string full = p;
  if (p.empty() || p[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) throw Failure{kExitFatal, "cannot determine the current directory"};
    full = std::string(cwd) + "/" + p;
  }
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= full.size()) {
    size_t j = full.find('/', i);
    if (j == std::string::npos) j = full.size();
    std::string c = full.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

repo::CompressionSettings CompressionFor(const std::string& s) {
  if (s == "off") return {0, 0};
  if (s == "fastest") return {1, 0};
  if (s == "default" || s == "auto") return repo::kDefaultCompression;
  if (s == "max") return {19, 0};
  try {
    size_t pos = 0;
    int n = std::stoi(s, &pos);
    if (pos == s.size() && n >= 0 && n <= 22) return {n, 0};
  } catch (const std::exception&) {
  }
  FailUsage("--compression must be off, fastest, default, max or a level 1-22, not '" + s + "'");
}

std::vector<std::string> ReadExcludeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) FailUsage("cannot read exclude file " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

// Starts CMD with its stdout connected to a pipe; returns the read end and pid.
std::pair<int, pid_t> StartCommand(const std::vector<std::string>& cmd) {
  int fds[2];
  if (pipe(fds) != 0) throw Failure{kExitFatal, "pipe failed"};
  pid_t pid = fork();
  if (pid < 0) throw Failure{kExitFatal, "fork failed"};
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "lifeboat: cannot run %s\n", argv[0]);
    _exit(127);
  }
  close(fds[1]);
  return {fds[0], pid};
}

class ProgressPrinter {
 public:
  ProgressPrinter(bool json, bool quiet) : json_(json), quiet_(quiet), tty_(isatty(STDERR_FILENO)) {
    start_ = TheClock().Now();
  }
  void Update(const archiver::Progress& p) {
    if (quiet_ || (!json_ && !tty_)) return;
    TimeNs now = TheClock().Now();
    if (now - last_ < (json_ ? 1000000000 : 200000000)) return;
    last_ = now;
    double secs = static_cast<double>(now - start_) / 1e9;
    double rate = secs > 0 ? static_cast<double>(p.bytes_read) / secs : 0;
    if (json_) {
      std::cout << DumpJson({{"message_type", "status"}, {"seconds_elapsed", secs},
                             {"files_done", p.files}, {"dirs_done", p.dirs},
                             {"bytes_done", p.bytes}, {"bytes_read", p.bytes_read},
                             {"total_files", p.total_files}, {"total_bytes", p.total_bytes},
                             {"scan_done", p.scan_done}, {"total_estimated", p.totals_estimated},
                             {"current_file", SafeString(p.current)}})
                << "\n";
      return;
    }
    std::string cur = p.current;
    if (cur.size() > 40) cur = "..." + cur.substr(cur.size() - 37);
    double done_rate = secs > 0 ? static_cast<double>(p.bytes) / secs : 0;
    std::string eta = "ETA ?";
    if (p.scan_done && done_rate > 0 && p.total_bytes >= p.bytes) {
      int left = static_cast<int>(static_cast<double>(p.total_bytes - p.bytes) / done_rate);
      eta = "ETA " + std::to_string(left / 60) + ":" + (left % 60 < 10 ? "0" : "") +
            std::to_string(left % 60);
    }
    std::fprintf(stderr, "\r\033[K[%d:%02d] %llu/%llu files, %s/%s, %s/s, %s  %s",
                 static_cast<int>(secs) / 60, static_cast<int>(secs) % 60,
                 static_cast<unsigned long long>(p.files),
                 static_cast<unsigned long long>(p.total_files), HumanBytes(p.bytes).c_str(),
                 HumanBytes(p.total_bytes).c_str(), HumanBytes(static_cast<uint64_t>(rate)).c_str(),
                 eta.c_str(), cur.c_str());
    shown_ = true;
  }
  void Done() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool json_, quiet_, tty_;
  bool shown_ = false;
  TimeNs start_ = 0, last_ = 0;
};

std::optional<Id> ChooseParent(repo::Repository& repo, const BackupFlags& f, const std::string& host,
                               const std::vector<std::string>& paths) {
  if (f.force) return std::nullopt;
  if (!f.parent.empty()) {
    auto e = snapshot::FindSnapshot(repo, f.parent);
    if (!e.ok()) Fail(e.status().WithContext("--parent"));
    return e->id;
  }
  auto all = snapshot::ListSnapshots(repo);
  if (!all.ok()) Fail(all.status());
  std::set<std::string> want(paths.begin(), paths.end());
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    const auto& s = it->snapshot;
    if (s.host == host && std::set<std::string>(s.paths.begin(), s.paths.end()) == want) return it->id;
  }
  return std::nullopt;
}

nlohmann::json SummaryJson(const archiver::Result& r) {
  nlohmann::json partial = nlohmann::json::array();
  for (const auto& p : r.snapshot.partial_files) partial.push_back(SafeString(p));
  nlohmann::json j = SummaryFields(r.snapshot.summary);
  j["message_type"] = "summary";
  j["snapshot_id"] =
      r.snapshot_id.IsZero() ? nlohmann::json(nullptr) : nlohmann::json(r.snapshot_id.Hex());
  j["partial_files"] = partial;
  return j;
}

void PrintSummary(const archiver::Result& r, bool dry_run) {
  const auto& s = r.snapshot.summary;
  std::printf("Files:       %llu new, %llu changed, %llu unmodified\n",
              (unsigned long long)s.files_new, (unsigned long long)s.files_changed,
              (unsigned long long)s.files_unmodified);
  std::printf("Dirs:        %llu new, %llu changed, %llu unmodified\n",
              (unsigned long long)s.dirs_new, (unsigned long long)s.dirs_changed,
              (unsigned long long)s.dirs_unmodified);
  std::printf("Read:        %s of %s in %llu files\n", HumanBytes(s.bytes_read).c_str(),
              HumanBytes(s.total_bytes).c_str(), (unsigned long long)s.total_files);
  std::printf("Added:       %s (%s stored, %llu data and %llu tree blobs)\n",
              HumanBytes(s.bytes_added).c_str(), HumanBytes(s.bytes_stored).c_str(),
              (unsigned long long)s.data_blobs, (unsigned long long)s.tree_blobs);
  std::printf("Duration:    %.2f s\n", s.duration_s);
  if (dry_run)
    std::printf("dry run: nothing was stored\n");
  else
    std::printf("snapshot %s saved\n", r.snapshot_id.Short().c_str());
}

}  // namespace

void RegisterBackup(CLI::App& app, Globals& g, int& exit_code) {
  auto f = std::make_shared<BackupFlags>();
  auto* cmd = app.add_subcommand("backup", "back up files, standard input or a command's output");
  cmd->add_option("paths", f->paths, "files and directories to back up");
  cmd->add_option("--tag", f->tags, "tag the snapshot (repeatable)");
  cmd->add_option("--host", f->host, "host name to record (default: this host)");
  cmd->add_option("-e,--exclude", f->excludes, "exclude a pattern (repeatable)");
  cmd->add_option("--exclude-file", f->exclude_files, "read exclude patterns from a file");
  cmd->add_flag("-x,--one-file-system", f->one_file_system, "do not cross file system boundaries");
  cmd->add_flag("-n,--dry-run", f->dry_run, "read and chunk everything, store nothing");
  cmd->add_option("--parent", f->parent, "compare against this snapshot for unchanged files");
  cmd->add_flag("--force", f->force, "read every file; do not use a parent snapshot");
  cmd->add_flag("--stdin", f->use_stdin, "back up standard input");
  cmd->add_option("--stdin-name", f->stdin_name, "file name for --stdin / --stdin-from-command");
  cmd->add_flag("--stdin-from-command", f->from_command,
                "back up the output of a command: --stdin-from-command -- CMD ARGS...");
  cmd->add_option("--compression", f->compression,
                  "off, fastest (zstd level 1), default (level 2 with a smaller match table "
                  "for chunks over 256 KiB), max (level 19), or a zstd level 1-22");
  cmd->callback([&g, f, &exit_code] {
    const bool from_cmd = f->from_command;
    if (from_cmd) {
      f->command = std::move(f->paths);
      f->paths.clear();
      if (f->command.empty()) FailUsage("--stdin-from-command needs a command after --");
    }
    if (f->use_stdin && from_cmd) FailUsage("--stdin and --stdin-from-command exclude each other");
    if (f->use_stdin && !f->paths.empty())
      FailUsage("paths cannot be combined with --stdin or --stdin-from-command");
    if (!f->use_stdin && !from_cmd && f->paths.empty()) FailUsage("nothing to back up: give paths");
    if (f->stdin_name.empty() || f->stdin_name.find('/') != std::string::npos)
      FailUsage("--stdin-name must be a file name without '/'");
    if (!f->parent.empty() && f->force) FailUsage("--parent and --force exclude each other");
    const repo::CompressionSettings compression = CompressionFor(f->compression);

    archiver::Options o;
    for (const auto& p : f->paths) o.paths.push_back(Absolute(p));
    std::vector<std::string> ex = f->excludes;
    for (const auto& file : f->exclude_files) {
      auto more = ReadExcludeFile(file);
      ex.insert(ex.end(), more.begin(), more.end());
    }
    o.excludes = fs::PatternList(ex);
    o.one_file_system = f->one_file_system;
    o.dry_run = f->dry_run;
    o.threads = g.threads;
    o.tags = f->tags;
    o.host = f->host.empty() ? Hostname() : f->host;
    o.program_version = ProgramVersion();
    o.stdin_name = f->stdin_name;

    // The source is read ahead while the repository is opened (key derivation,
    // index) and then alongside the walk; see archiver/prewalk.h.
    std::optional<archiver::Prewalk> prewalk;
    if (!f->use_stdin && !from_cmd) {
      prewalk.emplace(o.paths, o.excludes, o.one_file_system);
      prewalk->Start();
      o.prewalk = &*prewalk;
    }
    Session s = OpenLocked(g, false, "backup", {}, Access::kAppend);
    s.repo->set_write_options({compression});
    // A pack that was lost must not be deduplicated against: forget its index
    // entries so this backup stores that content again.
    if (!f->dry_run) {
      auto packs = s.repo->ListPacks();
      if (!packs.ok()) Fail(packs.status());
      auto lost = s.repo->DropMissingPacks(*packs);
      if (!lost.empty() && !g.quiet)
        std::fprintf(stderr, "warning: %zu indexed packs are missing; their content will be stored again "
                             "(run 'lifeboat check')\n", lost.size());
      // Packs a killed backup wrote before it could index them are reused.
      auto adopted = s.repo->AdoptUnindexedPacks(*packs);
      if (!adopted.ok()) Fail(adopted.status());
    }
    if (!f->use_stdin && !from_cmd) o.parent = ChooseParent(*s.repo, *f, o.host, o.paths);
    pid_t child = -1;
    if (f->use_stdin) o.stdin_fd = STDIN_FILENO;
    if (from_cmd) std::tie(o.stdin_fd, child) = StartCommand(f->command);
    o.before_snapshot = [&]() -> Status {
      if (!s.lock->healthy()) return Status(Code::kLocked, "lost the repository lock; no snapshot written");
      if (child < 0) return Status::Ok();
      int wst = 0;
      waitpid(child, &wst, 0);
      child = -1;
      if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        return Status(Code::kCancelled, "command '" + f->command[0] + "' failed (" +
                                            (WIFEXITED(wst) ? "exit " + std::to_string(WEXITSTATUS(wst))
                                                            : "killed") +
                                            "); no snapshot saved");
      return Status::Ok();
    };
    ProgressPrinter progress(g.json, g.quiet);
    if (!g.quiet && (g.json || isatty(STDERR_FILENO)))
      o.on_progress = [&](const archiver::Progress& p) { progress.Update(p); };
    o.on_warning = [&](const std::string& path, const std::string& what) {
      if (g.json)
        std::cout << DumpJson({{"message_type", "warning"}, {"path", SafeString(path)}, {"error", what}})
                  << "\n";
      else
        std::fprintf(stderr, "\r\033[Kwarning: %s: %s\n", path.c_str(), what.c_str());
    };
    auto r = archiver::Backup(*s.repo, o, TheClock());
    progress.Done();
    if (child > 0) {
      kill(child, SIGTERM);
      waitpid(child, nullptr, 0);
    }
    if (!r.ok()) Fail(r.status().WithContext("backup"));
    if (!f->dry_run && !r->snapshot_id.IsZero()) {
      auto added = WrittenPacks(*s.repo);
      added.insert(added.begin(), "snapshot:" + r->snapshot_id.Hex());
      AuditLog(*s.repo, "backup", std::move(added));
    }
    if (g.json)
      std::cout << DumpJson(SummaryJson(*r)) << "\n";
    else if (!g.quiet)
      PrintSummary(*r, f->dry_run);
    if (!r->snapshot.partial_files.empty()) {
      std::fprintf(stderr, "warning: %zu files could not be read completely (exit code 3)\n",
                   r->snapshot.partial_files.size());
      exit_code = kExitPartial;
    }
  });
}

}  // namespace lb::app
