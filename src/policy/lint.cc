#include "policy/lint.h"

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>

#include "policy/units.h"

namespace lb::policy {
namespace {

class Linter {
 public:
  Linter(const Policy& p, const LintHooks& h) : p_(p), hooks_(h) {}

  std::vector<Finding> Run() {
    if (p_.services.empty()) Warn({}, "the policy defines no services");
    for (const Target& t : p_.targets) CheckTarget(t);
    for (const Service& s : p_.services) CheckService(s);
    CheckCycles();
    std::sort(out_.begin(), out_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.pos.line, a.pos.col, a.message) < std::tie(b.pos.line, b.pos.col, b.message);
    });
    return std::move(out_);
  }

 private:
  void Add(Severity sev, Pos pos, std::string msg) { out_.push_back({sev, p_.file, pos, std::move(msg)}); }
  void Err(Pos pos, std::string msg) { Add(Severity::kError, pos, std::move(msg)); }
  void Warn(Pos pos, std::string msg) { Add(Severity::kWarning, pos, std::move(msg)); }

  void CheckTarget(const Target& t) {
    const std::string name = "target '" + t.name + "'";
    const bool file = !t.password_file.empty(), env = !t.password_env.empty();
    if (!file && !env) {
      Err(t.pos, name + " has no password source: set password_file or password_env");
    } else if (file && env) {
      Err(t.At("password_env"), name + " sets both password_file and password_env; keep one");
    } else if (hooks_.check_password) {
      const Status st = hooks_.check_password(t);
      if (!st.ok()) Err(t.At(file ? "password_file" : "password_env"), name + ": " + st.message());
    }
    if (hooks_.probe_target) {
      const Status st = hooks_.probe_target(t);
      if (!st.ok()) Err(t.At("url"), name + " (" + t.url + "): " + st.message());
    }
    if (t.rotate_keys_every_ns > 0 && hooks_.key_age) {
      const auto age = hooks_.key_age(t);
      if (age.ok() && *age > t.rotate_keys_every_ns)
        Warn(t.At("rotate_keys_every"), name + ": the data key is " + FormatDuration(*age / 1000000000 * 1000000000) +
                                            " old, the policy asks for a new one every " +
                                            FormatDuration(t.rotate_keys_every_ns) +
                                            " (run 'lifeboat key rotate', or let the daemon do it)");
    }
    const bool used = std::any_of(p_.services.begin(), p_.services.end(), [&](const Service& s) {
      return std::any_of(s.targets.begin(), s.targets.end(), [&](const Ref& r) { return r.name == t.name; });
    });
    if (!used) Warn(t.pos, name + " is not used by any service");
  }

  void CheckService(const Service& s) {
    const std::string name = "service '" + s.name + "'";
    if (s.targets.empty()) Err(s.At("targets"), name + " has no targets");
    for (const Ref& r : s.targets) {
      const Target* t = p_.FindTarget(r.name);
      if (t == nullptr) {
        Err(r.pos, name + ": unknown target '" + r.name + "'");
      } else if (s.encryption_required && !t->encrypted) {
        Err(r.pos, name + " requires encryption but target '" + r.name + "' has encryption = \"none\"");
      }
    }
    for (const Ref& r : s.depends_on) {
      if (r.name != s.name && p_.FindService(r.name) == nullptr)
        Err(r.pos, name + ": depends_on unknown service '" + r.name + "'");
    }
    const int64_t gap = s.schedule.worst_gap_ns;
    const std::string gap_text = "schedule '" + s.schedule.text + "'" +
                                 (s.schedule.window_text.empty() || s.schedule.kind == Schedule::Kind::kWindow
                                      ? ""
                                      : " in window " + s.schedule.window_text) +
                                 " can leave " + FormatDuration(gap) + " between backups";
    if (s.rpo_ns > 0 && gap > s.rpo_ns) {
      Err(s.At("schedule"), name + ": " + gap_text + ", more than its rpo " + FormatDuration(s.rpo_ns));
    } else if (s.rpo_ns > 0 && gap * 5 > s.rpo_ns * 4) {
      Warn(s.At("schedule"), name + ": " + gap_text + ", over 80% of its rpo " + FormatDuration(s.rpo_ns) +
                                 ", leaving " + FormatDuration(s.rpo_ns - gap) + " for the backup to finish");
    }
    CheckRetention(s, name);
    if (!s.drill) Warn(s.pos, name + " has no drill, so its rto cannot be proven");
    if (s.owner.empty()) Warn(s.pos, name + " has no owner");
  }

  void CheckRetention(const Service& s, const std::string& name) {
    if (!s.retention) {
      Warn(s.pos, name + " has no retention: its snapshots are never forgotten");
      return;
    }
    const retention::Rules& r = *s.retention;
    if (r.empty()) {
      Warn(s.At("retention"), name + ": retention sets no rule, so forget keeps every snapshot");
      return;
    }
    const bool counts = r.last != 0 || r.hourly != 0 || r.daily != 0 || r.weekly != 0 || r.monthly != 0 ||
                        r.yearly != 0 || !r.keep_tags.empty();
    if (!counts && r.within_ns > 0 && r.within_ns <= s.schedule.worst_gap_ns) {
      Err(s.At("retention"), name + ": retention keeps nothing at times: within " + FormatDuration(r.within_ns) +
                                 " is not longer than the schedule's worst gap " +
                                 FormatDuration(s.schedule.worst_gap_ns) + " and no count is set");
    }
  }

  // Depth-first search over depends_on; each cycle reported once, rotated to
  // start at its smallest name.
  void CheckCycles() {
    std::map<std::string, int> color;  // 0 new, 1 on stack, 2 done
    std::vector<const Service*> stack;
    std::set<std::vector<std::string>> seen;
    std::function<void(const Service&)> visit = [&](const Service& s) {
      color[s.name] = 1;
      stack.push_back(&s);
      for (const Ref& r : s.depends_on) {
        const Service* d = p_.FindService(r.name);
        if (d == nullptr) continue;
        if (color[d->name] == 1) {
          ReportCycle(stack, *d, seen);
        } else if (color[d->name] == 0) {
          visit(*d);
        }
      }
      stack.pop_back();
      color[s.name] = 2;
    };
    for (const Service& s : p_.services)
      if (color[s.name] == 0) visit(s);
  }

  void ReportCycle(const std::vector<const Service*>& stack, const Service& back_to,
                   std::set<std::vector<std::string>>& seen) {
    auto it = std::find(stack.begin(), stack.end(), &back_to);
    std::vector<const Service*> cyc(it, stack.end());
    std::rotate(cyc.begin(),
                std::min_element(cyc.begin(), cyc.end(), [](auto* a, auto* b) { return a->name < b->name; }),
                cyc.end());
    std::vector<std::string> names;
    for (const Service* s : cyc) names.push_back(s->name);
    if (!seen.insert(names).second) return;
    std::string text = "dependency cycle: ";
    for (const std::string& n : names) text += n + " -> ";
    text += names.front();
    const Service& first = *cyc.front();
    const std::string& next = names.size() > 1 ? names[1] : names[0];
    Pos pos = first.At("depends_on");
    for (const Ref& r : first.depends_on)
      if (r.name == next) pos = r.pos;
    Err(pos, text);
  }

  const Policy& p_;
  const LintHooks& hooks_;
  std::vector<Finding> out_;
};

}  // namespace

std::string Finding::ToString() const {
  return Where(file, pos) + (severity == Severity::kError ? ": error: " : ": warning: ") + message;
}

std::vector<Finding> Lint(const Policy& policy, const LintHooks& hooks) { return Linter(policy, hooks).Run(); }

bool HasErrors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return f.severity == Severity::kError; });
}

}  // namespace lb::policy
