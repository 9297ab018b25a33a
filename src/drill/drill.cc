#include "drill/drill.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "snapshot/store.h"

namespace lb::drill {

namespace {

double Seconds(TimeNs a, TimeNs b) { return static_cast<double>(b - a) / 1e9; }

// True when `inner` is `outer` or below it (both absolute, normalised).
bool Within(const std::string& inner, const std::string& outer) {
  const auto i = std::filesystem::weakly_canonical(inner).string();
  const auto o = std::filesystem::weakly_canonical(outer).string();
  return i == o || (i.size() > o.size() && i.compare(0, o.size(), o) == 0 &&
                    (o.back() == '/' || i[o.size()] == '/'));
}

Lineage Trace(const snapshot::Entry& e, const std::vector<snapshot::Entry>& all,
              std::vector<std::string>& failures, TimeNs now, const std::string& service) {
  Lineage l;
  l.snapshot_id = e.id.Hex();
  l.parent_id = e.snapshot.parent.IsZero() ? "" : e.snapshot.parent.Hex();
  l.host = e.snapshot.host;
  l.time = e.snapshot.time;
  const std::string short_id = e.id.Short();
  if (std::find(e.snapshot.tags.begin(), e.snapshot.tags.end(), "service=" + service) ==
      e.snapshot.tags.end())
    failures.push_back("lineage: snapshot " + short_id + " is not tagged service=" + service);
  if (e.snapshot.time > now + 300LL * 1000000000LL)
    failures.push_back("lineage: snapshot " + short_id + " is dated in the future (" +
                       FormatTimeRfc3339(e.snapshot.time) + ")");
  std::unordered_map<Id, const snapshot::Entry*, IdHash> by_id;
  for (const auto& x : all) by_id[x.id] = &x;
  const snapshot::Entry* cur = &e;
  while (!cur->snapshot.parent.IsZero() && l.chain <= all.size()) {
    auto it = by_id.find(cur->snapshot.parent);
    if (it == by_id.end()) {
      l.chain_complete = false;  // forgotten by retention: history, not damage
      break;
    }
    if (it->second->snapshot.time >= cur->snapshot.time) {
      failures.push_back("lineage: parent " + it->second->id.Short() + " of " + cur->id.Short() +
                         " is not older than it");
      break;
    }
    ++l.chain;
    cur = it->second;
  }
  return l;
}

void CompareCounts(PartReport& p, std::vector<std::string>& failures) {
  const std::string what = "counts of " + p.group + " (" + p.lineage.snapshot_id.substr(0, 8) + ")";
  auto cmp = [&](const char* name, uint64_t got, uint64_t want) {
    if (got != want)
      failures.push_back(what + ": " + std::to_string(got) + " " + name + " restored, the snapshot records " +
                         std::to_string(want));
  };
  cmp("files", p.verified.files, p.expected_files);
  cmp("directories", p.verified.dirs, p.expected_dirs);
  cmp("bytes", p.verified.bytes, p.expected_bytes);
}

}  // namespace

std::vector<std::string> SourceCopies(const policy::Service& s, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& src : s.sources)
    out.push_back(src.type == policy::Source::Type::kPath ? root + src.path : root + "/" + src.name);
  return out;
}

std::string ValidationDir(const policy::Service& s, const std::vector<std::string>& copies) {
  if (copies.empty()) return "/";
  if (!s.sources.empty() && s.sources[0].type == policy::Source::Type::kPath) return copies[0];
  return std::filesystem::path(copies[0]).parent_path().string();
}

std::map<std::string, std::string> ValidationEnv(const policy::Service& s, const std::string& sandbox,
                                                 const std::vector<std::string>& copies,
                                                 const RecoveryPoint& point, const std::string& mode) {
  std::map<std::string, std::string> env{{"LIFEBOAT_SERVICE", s.name},
                                         {"LIFEBOAT_SANDBOX", sandbox},
                                         {"LIFEBOAT_MODE", mode}};
  if (!point.parts.empty()) {
    env["LIFEBOAT_SNAPSHOT"] = point.parts[0].entry.id.Hex();
    env["LIFEBOAT_SNAPSHOT_TIME"] = FormatTimeRfc3339(point.time);
  }
  for (size_t i = 0; i < copies.size(); ++i) env["LIFEBOAT_SOURCE_" + std::to_string(i + 1)] = copies[i];
  return env;
}

Result<restorer::Stats> RestorePoint(repo::Repository& repo, const RecoveryPoint& point,
                                     const std::string& root, unsigned threads) {
  restorer::Stats total;
  for (const auto& part : point.parts) {
    restorer::Options ro;
    ro.target = root;
    ro.threads = threads;
    LB_ASSIGN_OR_RETURN_CTX(restorer::Stats st, restorer::Restore(repo, part.entry.snapshot, ro),
                            "restore " + part.group.label + " (snapshot " + part.entry.id.Short() + ")");
    total.files += st.files;
    total.dirs += st.dirs;
    total.others += st.others;
    total.bytes += st.bytes;
  }
  return total;
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (!ec) return Status::Ok();
  // Restored read-only directories: make every directory writable, then retry.
  for (auto it = std::filesystem::recursive_directory_iterator(
           path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  ::chmod(path.c_str(), 0700);
  ec.clear();
  std::filesystem::remove_all(path, ec);
  if (ec) return IoError("remove " + path + ": " + ec.message());
  return Status::Ok();
}

Report RunDrill(repo::Repository& repo, const policy::Service& s, const Options& o,
                const Clock& clock) {
  Report r;
  r.service = s.name;
  r.repository = repo.backend().Location();
  const TimeNs t0 = clock.Now();
  auto finish = [&]() -> Report {
    if (!r.sandbox.empty() && !o.keep) {
      Status st = RemoveTree(r.sandbox);
      if (!st.ok()) r.warnings.push_back("sandbox: " + st.message());
    }
    r.total_seconds = Seconds(t0, clock.Now());
    r.ok = r.failures.empty();
    return std::move(r);
  };
  for (const auto& src : s.sources)
    if (src.type == policy::Source::Type::kPath && Within(o.sandbox_parent, src.path)) {
      r.failures.push_back("sandbox " + o.sandbox_parent + " lies inside the live source " + src.path);
      return finish();
    }

  // select
  auto all = snapshot::ListSnapshots(repo);
  if (!all.ok()) {
    r.failures.push_back("list snapshots: " + all.status().message());
    return finish();
  }
  auto point = SelectPoint(*all, s, o.selection);
  r.select_seconds = Seconds(t0, clock.Now());
  if (!point.ok()) {
    r.failures.push_back(point.status().message());
    return finish();
  }
  r.point_time = point->time;

  // restore
  std::error_code ec;
  std::filesystem::create_directories(o.sandbox_parent, ec);
  std::string tmpl = o.sandbox_parent + "/lifeboat-drill-" + s.name + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    r.failures.push_back(ErrnoStatus("create sandbox in " + o.sandbox_parent, errno).message());
    return finish();
  }
  r.sandbox = tmpl;
  const TimeNs t_restore = clock.Now();
  auto restored = RestorePoint(repo, *point, r.sandbox, o.threads);
  r.restore_seconds = Seconds(t_restore, clock.Now());
  if (!restored.ok()) {
    r.failures.push_back(restored.status().message());
    return finish();
  }
  r.bytes = restored->bytes;
  r.files = restored->files;
  r.dirs = restored->dirs;

  // verify: content, counts, lineage
  const TimeNs t_verify = clock.Now();
  for (const auto& part : point->parts) {
    PartReport p;
    p.group = part.group.label;
    p.lineage = Trace(part.entry, *all, r.failures, clock.Now(), s.name);
    const auto& sum = part.entry.snapshot.summary;
    p.expected_files = sum.total_files;
    p.expected_bytes = sum.total_bytes;
    p.expected_dirs = sum.dirs_new + sum.dirs_changed + sum.dirs_unmodified;
    p.partial_files = part.entry.snapshot.partial_files.size();
    if (p.partial_files)
      r.warnings.push_back(p.group + ": " + std::to_string(p.partial_files) +
                           " files were incomplete when backed up");
    restorer::Options vo;
    vo.target = r.sandbox;
    vo.threads = o.threads;
    auto v = restorer::Verify(repo, part.entry.snapshot, vo);
    if (!v.ok()) {
      r.failures.push_back(v.status().message());
    } else {
      p.verified = *v;
      CompareCounts(p, r.failures);
    }
    r.parts.push_back(std::move(p));
  }
  r.verify_seconds = Seconds(t_verify, clock.Now());
  if (!r.failures.empty()) return finish();

  // validate
  if (s.drill && !s.drill->validate.empty()) {
    const auto copies = SourceCopies(s, r.sandbox);
    auto v = RunValidation(s.drill->validate, ValidationDir(s, copies),
                           ValidationEnv(s, r.sandbox, copies, *point, "drill"), o.validation_timeout_ns, clock);
    if (!v.ok()) {
      r.failures.push_back(v.status().message());
    } else {
      r.validation = std::move(v).value();
      r.validation_seconds = r.validation.seconds;
      if (!r.validation.ok()) r.failures.push_back(r.validation.FailureReason());
    }
  }
  return finish();
}

}  // namespace lb::drill
