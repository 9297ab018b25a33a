#include "playbook/recover.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "drill/drill.h"
#include "playbook/order.h"
#include "restorer/restorer.h"
#include "snapshot/store.h"

namespace lb::playbook {

namespace {

double Seconds(TimeNs a, TimeNs b) { return static_cast<double>(b - a) / 1e9; }

struct Staged {
  std::string staging_dir;  // removed afterwards
  std::string staged;       // the restored copy inside it
  std::string destination;
};

std::string Parent(const std::string& p) { return std::filesystem::path(p).parent_path().string(); }

std::string DestinationOf(const policy::Source& src, const std::string& service, const Options& o) {
  const bool path = src.type == policy::Source::Type::kPath;
  if (o.mode == Options::Mode::kTarget) return path ? o.target_dir + src.path : o.target_dir + "/" + src.name;
  return path ? src.path : o.outputs_dir + "/" + service + "/" + src.name;
}

const drill::Part* PartFor(const drill::RecoveryPoint& point, const policy::Source& src) {
  const std::string label = src.type == policy::Source::Type::kPath ? "files" : src.name;
  for (const auto& part : point.parts)
    if (part.group.label == label) return &part;
  return nullptr;
}

// Restores each source next to its destination.
Status Stage(repo::Repository& repo, const policy::Service& s, const drill::RecoveryPoint& point,
             const Options& o, std::vector<Staged>& staged, ServiceResult& res) {
  for (const auto& src : s.sources) {
    Staged st;
    st.destination = DestinationOf(src, s.name, o);
    std::error_code ec;
    std::filesystem::create_directories(Parent(st.destination), ec);
    if (ec) return IoError("create " + Parent(st.destination) + ": " + ec.message());
    std::string tmpl = Parent(st.destination) + "/.lifeboat-staging-" + s.name + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return ErrnoStatus("create staging directory next to " + st.destination, errno);
    st.staging_dir = tmpl;
    const bool path = src.type == policy::Source::Type::kPath;
    st.staged = path ? st.staging_dir + src.path : st.staging_dir + "/" + src.name;
    staged.push_back(st);
    const drill::Part* part = PartFor(point, src);
    if (!part) return NotFound("no snapshot of source " + (path ? src.path : src.name));
    restorer::Options ro;
    ro.target = st.staging_dir;
    ro.threads = o.threads;
    if (path) ro.includes = fs::PatternList({src.path});
    LB_ASSIGN_OR_RETURN_CTX(restorer::Stats rs, restorer::Restore(repo, part->entry.snapshot, ro),
                            "restore " + (path ? src.path : src.name));
    res.bytes += rs.bytes;
    res.files += rs.files;
    struct stat sb;
    if (::lstat(st.staged.c_str(), &sb) != 0)
      return NotFound("snapshot " + part->entry.id.Short() + " does not contain " + (path ? src.path : src.name));
  }
  return Status::Ok();
}

std::string FreeName(const std::string& base) {
  std::string name = base;
  struct stat sb;
  for (int i = 1; ::lstat(name.c_str(), &sb) == 0; ++i) name = base + "." + std::to_string(i);
  return name;
}

// Puts a staged copy in place; the previous content moves aside.
Status SwapIn(const Staged& st, const std::string& stamp, Swap& out) {
  out.destination = st.destination;
  struct stat sb;
  if (::lstat(st.destination.c_str(), &sb) != 0) {
    if (::rename(st.staged.c_str(), st.destination.c_str()) != 0)
      return ErrnoStatus("move " + st.staged + " to " + st.destination, errno);
    return Status::Ok();
  }
  if (::renameat2(AT_FDCWD, st.staged.c_str(), AT_FDCWD, st.destination.c_str(), RENAME_EXCHANGE) != 0)
    return ErrnoStatus("swap " + st.staged + " into " + st.destination, errno);
  // st.staged now holds the previous content: keep it next to the destination.
  const std::string previous = FreeName(st.destination + ".lifeboat-previous-" + stamp);
  if (::rename(st.staged.c_str(), previous.c_str()) != 0) {
    Status err = ErrnoStatus("keep previous content of " + st.destination + " as " + previous, errno);
    // Undo this swap at once: the caller only rolls back completed swaps.
    ::renameat2(AT_FDCWD, st.staged.c_str(), AT_FDCWD, st.destination.c_str(), RENAME_EXCHANGE);
    return err;
  }
  out.previous = previous;
  return Status::Ok();
}

Status RollBack(const Swap& w) {
  if (w.previous.empty()) return drill::RemoveTree(w.destination);
  if (::renameat2(AT_FDCWD, w.previous.c_str(), AT_FDCWD, w.destination.c_str(), RENAME_EXCHANGE) != 0)
    return ErrnoStatus("put back " + w.previous + " as " + w.destination, errno);
  return drill::RemoveTree(w.previous);  // now the restored content
}

void CleanUp(const std::vector<Staged>& staged) {
  for (const auto& st : staged) drill::RemoveTree(st.staging_dir).IgnoreError();
}

std::string Stamp(TimeNs t) {
  std::string s = FormatTimeRfc3339(t).substr(0, 19);  // 2026-11-23T23:17:00
  std::string out;
  for (char c : s)
    if (c != '-' && c != ':') out += c;
  return out;
}

// Steps 1-3 for one service: select its point, stage, validate. On error its
// staging is removed and `staged` is empty.
Status Prepare(const policy::Policy& p, const policy::Service& s, const Options& o, const OpenRepoFn& open,
               const Clock& clock, ServiceResult& res, std::vector<Staged>& staged) {
  const std::string tname = !o.from.empty() ? o.from : s.targets.empty() ? "" : s.targets[0].name;
  res.target = tname;
  const policy::Target* t = p.FindTarget(tname);
  if (!t) return NotFound("service " + s.name + " has no target '" + tname + "'");
  res.repository = t->url;
  LB_ASSIGN_OR_RETURN_CTX(auto repo, open(*t), "target " + tname);
  LB_ASSIGN_OR_RETURN(auto all, snapshot::ListSnapshots(*repo));
  LB_ASSIGN_OR_RETURN(drill::RecoveryPoint point, drill::SelectPoint(all, s, o.selection));
  for (const auto& part : point.parts) res.snapshots.push_back(part.entry.id.Hex());
  res.point_time = point.time;
  res.data_loss_ns = o.incident - point.time;
  Status st = Stage(*repo, s, point, o, staged, res);
  if (st.ok() && s.drill && !s.drill->validate.empty()) {
    std::vector<std::string> copies;
    for (const auto& x : staged) copies.push_back(x.staged);
    auto v = drill::RunValidation(s.drill->validate, drill::ValidationDir(s, copies),
                                  drill::ValidationEnv(s, staged.front().staging_dir, copies, point, "recover"),
                                  o.validation_timeout_ns, clock);
    if (!v.ok()) st = v.status();
    else {
      res.validation = std::move(v).value();
      if (!res.validation.ok()) st = Status(Code::kCancelled, res.validation.FailureReason());
    }
  }
  if (!st.ok()) {
    CleanUp(staged);
    staged.clear();
  }
  return st;
}

// Step 4: swaps the staged copies into place. On error nothing of this service
// stays swapped. The staging is removed either way.
Status Commit(std::vector<Staged>& staged, const Clock& clock, ServiceResult& res) {
  const std::string stamp = Stamp(clock.Now());
  Status st;
  for (size_t i = 0; st.ok() && i < staged.size(); ++i) {
    Swap w;
    st = SwapIn(staged[i], stamp, w);
    if (st.ok()) res.swaps.push_back(w);
  }
  if (!st.ok()) {
    for (auto it = res.swaps.rbegin(); it != res.swaps.rend(); ++it) RollBack(*it).IgnoreError();
    res.swaps.clear();
  }
  CleanUp(staged);
  staged.clear();
  return st;
}

// One wave: services that do not depend on each other. Their restores and
// validations run at the same time; the swaps then run one after another in
// order, and only when every service of the wave is ready, so a failure swaps in
// nothing of this wave. Sets rep.failure on the first failure (in order).
void RunWave(const policy::Policy& p, const std::vector<size_t>& members, const Options& o, const OpenRepoFn& open,
             const Clock& clock, TimeNs t0, Report& rep) {
  const size_t n = members.size();
  std::vector<std::vector<Staged>> staged(n);
  std::vector<Status> status(n);
  std::vector<TimeNs> took(n);
  auto prepare = [&](size_t k) {
    ServiceResult& res = rep.services[members[k]];
    const TimeNs ts = clock.Now();
    const policy::Service* s = p.FindService(res.service);
    status[k] = s ? Prepare(p, *s, o, open, clock, res, staged[k]) : NotFound("no service " + res.service);
    took[k] = clock.Now() - ts;
  };
  if (n == 1) {
    prepare(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t k = 0; k < n; ++k) threads.emplace_back(prepare, k);
    for (auto& t : threads) t.join();
  }
  std::string failed;
  for (size_t k = 0; k < n; ++k) {
    ServiceResult& res = rep.services[members[k]];
    res.seconds = static_cast<double>(took[k]) / 1e9;
    if (status[k].ok()) continue;
    res.state = ServiceResult::State::kFailed;
    res.error = status[k].message();
    res.done_after_seconds = Seconds(t0, clock.Now());
    if (failed.empty()) failed = res.service;
    if (rep.failure.empty()) rep.failure = res.service + ": " + status[k].message();
  }
  for (size_t k = 0; k < n; ++k) {
    ServiceResult& res = rep.services[members[k]];
    if (!status[k].ok()) continue;
    if (!failed.empty()) {  // a sibling failed: swap nothing
      CleanUp(staged[k]);
      res.state = ServiceResult::State::kSkipped;
      res.error = "not swapped in: " + failed + " failed";
      continue;
    }
    const TimeNs ts = clock.Now();
    Status st = Commit(staged[k], clock, res);
    res.seconds += Seconds(ts, clock.Now());
    res.done_after_seconds = Seconds(t0, clock.Now());
    if (st.ok()) {
      res.state = ServiceResult::State::kRecovered;
    } else {
      res.state = ServiceResult::State::kFailed;
      res.error = st.message();
      failed = res.service;
      rep.failure = res.service + ": " + st.message();
    }
  }
}

}  // namespace

const char* StateName(ServiceResult::State s) {
  switch (s) {
    case ServiceResult::State::kPending: return "pending";
    case ServiceResult::State::kRecovered: return "recovered";
    case ServiceResult::State::kFailed: return "failed";
    case ServiceResult::State::kRolledBack: return "rolled back";
    case ServiceResult::State::kSkipped: return "skipped";
  }
  return "?";
}

Report Recover(const policy::Policy& p, const std::vector<std::string>& order, const Options& o,
               const OpenRepoFn& open, const Clock& clock) {
  Report rep;
  const TimeNs t0 = clock.Now();
  for (const auto& name : order) {
    ServiceResult res;
    res.service = name;
    if (const policy::Service* s = p.FindService(name)) res.rpo_ns = s->rpo_ns, res.rto_ns = s->rto_ns;
    rep.services.push_back(std::move(res));
  }
  const std::vector<int> waves = RecoveryWaves(p, order);
  const int last = waves.empty() ? -1 : *std::max_element(waves.begin(), waves.end());
  for (int w = 0; w <= last; ++w) {
    std::vector<size_t> members;
    for (size_t i = 0; i < order.size(); ++i)
      if (waves[i] == w) members.push_back(i);
    if (!rep.failure.empty()) {
      for (size_t i : members) rep.services[i].state = ServiceResult::State::kSkipped;
      continue;
    }
    RunWave(p, members, o, open, clock, t0, rep);
  }
  if (!rep.failure.empty()) {
    // Roll back every recovered service, newest first.
    for (auto it = rep.services.rbegin(); it != rep.services.rend(); ++it) {
      if (it->state != ServiceResult::State::kRecovered) continue;
      Status undo;
      for (auto w = it->swaps.rbegin(); w != it->swaps.rend(); ++w) {
        Status one = RollBack(*w);
        if (!one.ok() && undo.ok()) undo = one;
      }
      it->state = ServiceResult::State::kRolledBack;
      if (!undo.ok()) it->error = "ROLLBACK INCOMPLETE: " + undo.message();
    }
  }
  rep.ok = rep.failure.empty();
  rep.total_seconds = Seconds(t0, clock.Now());
  return rep;
}

}  // namespace lb::playbook
