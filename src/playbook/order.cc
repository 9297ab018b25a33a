#include "playbook/order.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace lb::playbook {

Result<std::vector<std::string>> RecoveryOrder(const policy::Policy& p,
                                               const std::vector<std::string>& requested) {
  // Collect the closure.
  std::set<std::string> needed;
  std::function<Status(const std::string&, const std::string&)> add =
      [&](const std::string& name, const std::string& via) -> Status {
    const policy::Service* s = p.FindService(name);
    if (!s)
      return InvalidArgument(via.empty() ? "no service '" + name + "' in the policy"
                                         : "service " + via + " depends on unknown service '" + name + "'");
    if (!needed.insert(name).second) return Status::Ok();
    for (const auto& d : s->depends_on) LB_RETURN_IF_ERROR(add(d.name, name));
    return Status::Ok();
  };
  for (const auto& r : requested) LB_RETURN_IF_ERROR(add(r, ""));
  // Kahn's algorithm, smallest name first among the ready ones.
  std::map<std::string, size_t> waiting;  // unmet dependency count
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& n : needed) {
    waiting[n] = 0;
    for (const auto& d : p.FindService(n)->depends_on) {
      ++waiting[n];
      dependents[d.name].push_back(n);
    }
  }
  std::set<std::string> ready;
  for (const auto& [n, w] : waiting)
    if (w == 0) ready.insert(n);
  std::vector<std::string> order;
  while (!ready.empty()) {
    const std::string n = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(n);
    for (const auto& m : dependents[n])
      if (--waiting[m] == 0) ready.insert(m);
  }
  if (order.size() != needed.size()) {
    std::string stuck;
    for (const auto& [n, w] : waiting)
      if (w > 0) stuck += (stuck.empty() ? "" : ", ") + n;
    return InvalidArgument("dependency cycle among services: " + stuck);
  }
  return order;
}

std::vector<int> RecoveryWaves(const policy::Policy& p, const std::vector<std::string>& order) {
  std::map<std::string, int> wave;
  std::vector<int> out;
  for (const auto& name : order) {
    int w = 0;
    if (const policy::Service* s = p.FindService(name))
      for (const auto& d : s->depends_on)
        if (auto it = wave.find(d.name); it != wave.end()) w = std::max(w, it->second + 1);
    wave[name] = w;
    out.push_back(w);
  }
  return out;
}

}  // namespace lb::playbook
