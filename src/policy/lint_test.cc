#include "policy/lint.h"

#include <gtest/gtest.h>

namespace lb::policy {
namespace {

Policy MustParse(const std::string& text) {
  auto p = ParsePolicy(text, "p.toml");
  if (!p.ok()) ADD_FAILURE() << p.status().ToString();
  return p.ok() ? *p : Policy{};
}

std::vector<std::string> Lines(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const Finding& f : fs) out.push_back(f.ToString());
  return out;
}

constexpr const char* kTargets = R"([targets.hot]
url = "/b"
password_file = "/etc/hot.pw"
)";

// `s` with the first `from` replaced by `to`.
std::string Sub(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at == std::string::npos) ADD_FAILURE() << "no '" << from << "' in " << s;
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

// A clean service named NAME with extra lines.
std::string Svc(const std::string& name, const std::string& extra = "") {
  return "[services." + name +
         "]\nowner = \"ops\"\nrpo = \"15m\"\nrto = \"1h\"\nschedule = \"every 10m\"\n"
         "sources = [{ type = \"path\", path = \"/srv\" }]\ntargets = [\"hot\"]\nretention = { daily = 7 }\n"
         "drill = { every = \"7d\" }\n" +
         extra;
}

TEST(Lint, CleanPolicyHasNoFindings) { EXPECT_TRUE(Lint(MustParse(std::string(kTargets) + Svc("a"))).empty()); }

TEST(Lint, TargetPasswordSources) {
  const Policy p = MustParse(R"([targets.none]
url = "/n"
[targets.both]
url = "/b"
password_file = "/f"
password_env = "E"
)" + Sub(Svc("a"), "[\"hot\"]", "[\"none\", \"both\"]"));
  EXPECT_EQ(Lines(Lint(p)),
            (std::vector<std::string>{
                "p.toml:1:1: error: target 'none' has no password source: set password_file or password_env",
                "p.toml:6:16: error: target 'both' sets both password_file and password_env; keep one",
            }));
}

TEST(Lint, HooksProbeTargetsAndPasswords) {
  const Policy p = MustParse(std::string(kTargets) + "[targets.cold]\nurl = \"s3:x\"\npassword_env = \"COLD\"\n" +
                             Sub(Svc("a"), "[\"hot\"]", "[\"hot\", \"cold\"]"));
  LintHooks hooks;
  std::vector<std::string> probed;
  hooks.probe_target = [&](const Target& t) {
    probed.push_back(t.name);
    return t.name == "cold" ? NotFound("repository not initialised") : Status::Ok();
  };
  hooks.check_password = [&](const Target& t) {
    return t.name == "hot" ? NotFound("open /etc/hot.pw: No such file or directory") : Status::Ok();
  };
  EXPECT_EQ(Lines(Lint(p, hooks)), (std::vector<std::string>{
                                       "p.toml:3:17: error: target 'hot': open /etc/hot.pw: No such file or directory",
                                       "p.toml:5:7: error: target 'cold' (s3:x): repository not initialised",
                                   }));
  EXPECT_EQ(probed, (std::vector<std::string>{"cold", "hot"}));
}

TEST(Lint, KeyRotationSchedule) {
  const std::string targets = std::string(kTargets) + "rotate_keys_every = \"90d\"\n";
  const Policy p = MustParse(targets + Svc("a"));
  ASSERT_EQ(p.targets[0].rotate_keys_every_ns, 90LL * 86400 * 1000000000);
  LintHooks hooks;
  int64_t age = 30LL * 86400 * 1000000000;
  hooks.key_age = [&](const Target&) -> Result<int64_t> { return age; };
  EXPECT_TRUE(Lint(p, hooks).empty());
  age = 91LL * 86400 * 1000000000;
  EXPECT_EQ(Lines(Lint(p, hooks)),
            (std::vector<std::string>{"p.toml:4:21: warning: target 'hot': the data key is 91d old, the policy asks "
                                      "for a new one every 90d (run 'lifeboat key rotate', or let the daemon do it)"}));
  hooks.key_age = [&](const Target&) -> Result<int64_t> { return NotFound("unreachable"); };
  EXPECT_TRUE(Lint(p, hooks).empty()) << "an unreachable target is probe_target's finding";
  EXPECT_FALSE(ParsePolicy(std::string(kTargets) + "rotate_keys_every = \"soon\"\n" + Svc("a"), "p.toml").ok());
}

TEST(Lint, ServiceTargetsAndEncryption) {
  const Policy p = MustParse(
      std::string(kTargets) + "[targets.plain]\nurl = \"/p\"\npassword_env = \"P\"\n" + "encryption = \"none\"\n" +
      Sub(Svc("a"), "[\"hot\"]", "[\"hot\", \"plain\", \"nowhere\"]") + Sub(Svc("b"), "targets = [\"hot\"]\n", ""));
  EXPECT_EQ(Lines(Lint(p)),
            (std::vector<std::string>{
                "p.toml:14:19: error: service 'a' requires encryption but target 'plain' has encryption = \"none\"",
                "p.toml:14:28: error: service 'a': unknown target 'nowhere'",
                "p.toml:17:1: error: service 'b' has no targets",
            }));
}

TEST(Lint, DependencyCyclesAndUnknownServices) {
  const Policy p = MustParse(std::string(kTargets) + Svc("a", "depends_on = [\"b\"]\n") +
                             Svc("b", "depends_on = [\"c\", \"ghost\"]\n") + Svc("c", "depends_on = [\"a\"]\n") +
                             Svc("d", "depends_on = [\"d\"]\n") + Svc("e", "depends_on = [\"a\"]\n"));
  EXPECT_EQ(Lines(Lint(p)), (std::vector<std::string>{
                                "p.toml:13:15: error: dependency cycle: a -> b -> c -> a",
                                "p.toml:23:20: error: service 'b': depends_on unknown service 'ghost'",
                                "p.toml:43:15: error: dependency cycle: d -> d",
                            }));
}

TEST(Lint, ScheduleAgainstRpo) {
  const std::string slow = Sub(Svc("slow"), "every 10m", "0 * * * *");
  const std::string tight = Sub(Svc("tight"), "every 10m", "every 12m") + Sub(Svc("tighter"), "every 10m", "every 15m");
  const std::string windowed = Sub(Svc("win", "window = \"01:00-05:00\"\n"), "\"15m\"", "\"12h\"");
  const Policy p = MustParse(std::string(kTargets) + slow + tight + windowed);
  EXPECT_EQ(Lines(Lint(p)),
            (std::vector<std::string>{
                "p.toml:8:12: error: service 'slow': schedule '0 * * * *' can leave 1h between backups, more than its "
                "rpo 15min",
                "p.toml:26:12: warning: service 'tighter': schedule 'every 15m' can leave 15min between backups, "
                "over 80% of its rpo 15min, leaving 0s for the backup to finish",
                "p.toml:35:12: error: service 'win': schedule 'every 10m' in window 01:00-05:00 can leave 20h10min "
                "between backups, more than its rpo 12h",
            }));
}

TEST(Lint, Retention) {
  const Policy p =
      MustParse(std::string(kTargets) + Sub(Svc("none"), "retention = { daily = 7 }\n", "") +
                Sub(Svc("empty"), "daily = 7", "last = 0") + Sub(Svc("nothing"), "daily = 7", "within = \"10m\"") +
                Sub(Svc("enough"), "daily = 7", "within = \"11m\""));
  EXPECT_EQ(Lines(Lint(p)),
            (std::vector<std::string>{
                "p.toml:4:1: warning: service 'none' has no retention: its snapshots are never forgotten",
                "p.toml:19:13: warning: service 'empty': retention sets no rule, so forget keeps every snapshot",
                "p.toml:28:13: error: service 'nothing': retention keeps nothing at times: within 10min is not longer "
                "than the schedule's worst gap 10min and no count is set",
            }));
}

TEST(Lint, Warnings) {
  const std::string bare = Sub(Sub(Svc("bare"), "owner = \"ops\"\n", ""), "drill = { every = \"7d\" }\n", "");
  const Policy p = MustParse(std::string(kTargets) + "[targets.spare]\nurl = \"/s\"\npassword_env = \"S\"\n" + bare);
  EXPECT_EQ(Lines(Lint(p)), (std::vector<std::string>{
                                "p.toml:4:1: warning: target 'spare' is not used by any service",
                                "p.toml:7:1: warning: service 'bare' has no drill, so its rto cannot be proven",
                                "p.toml:7:1: warning: service 'bare' has no owner",
                            }));
  EXPECT_FALSE(HasErrors(Lint(p)));
  EXPECT_EQ(Lines(Lint(MustParse(kTargets))),
            (std::vector<std::string>{"p.toml: warning: the policy defines no services",
                                      "p.toml:1:1: warning: target 'hot' is not used by any service"}));
}

}  // namespace
}  // namespace lb::policy
