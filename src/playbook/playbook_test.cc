#include <gtest/gtest.h>

#include "playbook/order.h"

namespace lb::playbook {
namespace {

policy::Policy Make(const std::vector<std::pair<std::string, std::vector<std::string>>>& deps) {
  policy::Policy p;
  for (const auto& [name, ds] : deps) {
    policy::Service s;
    s.name = name;
    for (const auto& d : ds) s.depends_on.push_back({d, {}});
    p.services.push_back(s);
  }
  std::sort(p.services.begin(), p.services.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return p;
}

using V = std::vector<std::string>;

TEST(RecoveryOrder, DependenciesFirstThenByName) {
  auto p = Make({{"web", {"db", "auth"}}, {"db", {"auth"}}, {"auth", {}}, {"cache", {}}, {"api", {"db"}}});
  EXPECT_EQ(*RecoveryOrder(p, {"web"}), (V{"auth", "db", "web"}));
  EXPECT_EQ(*RecoveryOrder(p, {"web", "api", "cache"}), (V{"auth", "cache", "db", "api", "web"}));
  EXPECT_EQ(*RecoveryOrder(p, {"auth"}), (V{"auth"}));
  EXPECT_EQ(*RecoveryOrder(p, {"db", "db"}), (V{"auth", "db"}));
}

TEST(RecoveryOrder, EveryServiceAfterItsDependencies) {
  auto p = Make({{"a", {"b", "c"}}, {"b", {"d"}}, {"c", {"d"}}, {"d", {}}, {"e", {"a"}}});
  auto o = RecoveryOrder(p, {"e"});
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->size(), 5u);
  auto pos = [&](const std::string& n) { return std::find(o->begin(), o->end(), n) - o->begin(); };
  for (const auto& s : p.services)
    for (const auto& d : s.depends_on) EXPECT_LT(pos(d.name), pos(s.name)) << d.name << " before " << s.name;
}

TEST(RecoveryWaves, IndependentServicesShareAWave) {
  auto p = Make({{"web", {"db", "auth"}}, {"db", {"auth"}}, {"auth", {}}, {"cache", {}}, {"api", {"db"}}});
  auto o = RecoveryOrder(p, {"web", "api", "cache"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o, (V{"auth", "cache", "db", "api", "web"}));
  EXPECT_EQ(RecoveryWaves(p, *o), (std::vector<int>{0, 0, 1, 2, 2}));
  // A dependency outside the order (recovered earlier, or not asked for) does not count.
  EXPECT_EQ(RecoveryWaves(p, {"db", "web"}), (std::vector<int>{0, 1}));
}

TEST(RecoveryOrder, UnknownAndCyclesAreErrors) {
  auto p = Make({{"a", {"b"}}, {"b", {"a"}}, {"c", {"ghost"}}, {"d", {}}});
  auto cyc = RecoveryOrder(p, {"a"});
  ASSERT_FALSE(cyc.ok());
  EXPECT_EQ(cyc.status().code(), Code::kInvalidArgument);
  EXPECT_NE(cyc.status().message().find("cycle"), std::string::npos);
  auto ghost = RecoveryOrder(p, {"c"});
  ASSERT_FALSE(ghost.ok());
  EXPECT_NE(ghost.status().message().find("unknown service 'ghost'"), std::string::npos);
  EXPECT_FALSE(RecoveryOrder(p, {"zzz"}).ok());
  EXPECT_EQ(*RecoveryOrder(p, {"d"}), (V{"d"}));
}

}  // namespace
}  // namespace lb::playbook
