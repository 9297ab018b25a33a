// lifeboat snapshots, ls, diff: read-only views of a repository.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>

#include "app/commands.h"
#include "fs/path.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

using snapshot::Node;

nlohmann::json SnapshotJson(const snapshot::Entry& e) {
  const auto& s = e.snapshot;
  nlohmann::json paths = nlohmann::json::array(), partial = nlohmann::json::array();
  for (const auto& p : s.paths) paths.push_back(SafeString(p));
  for (const auto& p : s.partial_files) partial.push_back(SafeString(p));
  return {{"id", e.id.Hex()},
          {"short_id", e.id.Short()},
          {"time", FormatTimeRfc3339(s.time)},
          {"time_ns", s.time},
          {"host", s.host},
          {"user", s.user},
          {"paths", paths},
          {"tags", s.tags},
          {"parent", s.parent.IsZero() ? nlohmann::json(nullptr) : nlohmann::json(s.parent.Hex())},
          {"tree", s.tree.Hex()},
          {"program_version", s.program_version},
          {"partial_files", partial},
          {"summary", SummaryFields(s.summary)}};
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

using fs::JoinPath;

// Walks the tree below `node` (a directory) calling fn(path, node) in order.
void Walk(repo::Repository& repo, const Id& tree_id, const std::string& prefix,
          const std::function<void(const std::string&, const Node&)>& fn) {
  auto t = snapshot::LoadTree(repo, tree_id);
  if (!t.ok()) Fail(t.status());
  for (const Node& n : t->nodes) {
    std::string p = JoinPath(prefix, n.name);
    fn(p, n);
    if (n.meta.type == fs::FileType::kDirectory) Walk(repo, n.subtree, p, fn);
  }
}

bool SameEntry(const Node& a, const Node& b) {
  return a.meta.type == b.meta.type && a.meta.mode == b.meta.mode && a.meta.size == b.meta.size &&
         a.meta.mtime_ns == b.meta.mtime_ns && a.meta.uid == b.meta.uid &&
         a.meta.gid == b.meta.gid && a.content == b.content &&
         a.meta.symlink_target == b.meta.symlink_target && a.meta.xattrs == b.meta.xattrs;
}

struct DiffOut {
  bool json;
  uint64_t added = 0, removed = 0, changed = 0;
  void Line(char what, const std::string& path) {
    (what == '+' ? added : what == '-' ? removed : changed)++;
    if (json)
      std::cout << DumpJson({{"message_type", "change"}, {"path", SafeString(path)},
                             {"modifier", std::string(1, what)}})
                << "\n";
    else
      std::printf("%c    %s\n", what, path.c_str());
  }
};

void DiffTrees(repo::Repository& repo, const Id& a, const Id& b, const std::string& prefix, DiffOut& out) {
  if (a == b) return;
  auto ta = snapshot::LoadTree(repo, a), tb = snapshot::LoadTree(repo, b);
  if (!ta.ok()) Fail(ta.status());
  if (!tb.ok()) Fail(tb.status());
  auto all = [&](const Node& n, const std::string& p, char what) {
    out.Line(what, p);
    if (n.meta.type == fs::FileType::kDirectory)
      Walk(repo, n.subtree, p, [&](const std::string& q, const Node&) { out.Line(what, q); });
  };
  size_t i = 0, j = 0;
  while (i < ta->nodes.size() || j < tb->nodes.size()) {
    if (j == tb->nodes.size() || (i < ta->nodes.size() && ta->nodes[i].name < tb->nodes[j].name)) {
      all(ta->nodes[i], JoinPath(prefix, ta->nodes[i].name), '-');
      ++i;
    } else if (i == ta->nodes.size() || tb->nodes[j].name < ta->nodes[i].name) {
      all(tb->nodes[j], JoinPath(prefix, tb->nodes[j].name), '+');
      ++j;
    } else {
      const Node &x = ta->nodes[i], &y = tb->nodes[j];
      std::string p = JoinPath(prefix, x.name);
      bool dx = x.meta.type == fs::FileType::kDirectory, dy = y.meta.type == fs::FileType::kDirectory;
      if (dx && dy) {
        if (x.meta.mode != y.meta.mode || x.meta.uid != y.meta.uid || x.meta.gid != y.meta.gid ||
            x.meta.xattrs != y.meta.xattrs)
          out.Line('M', p);
        DiffTrees(repo, x.subtree, y.subtree, p, out);
      } else if (dx != dy) {
        all(x, p, '-');
        all(y, p, '+');
      } else if (!SameEntry(x, y)) {
        out.Line('M', p);
      }
      ++i;
      ++j;
    }
  }
}

}  // namespace

void RegisterSnapshots(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("snapshots", "list snapshots, oldest first");
  auto tags = std::make_shared<std::vector<std::string>>();
  auto host = std::make_shared<std::string>();
  cmd->add_option("--tag", *tags, "only snapshots with this tag");
  cmd->add_option("--host", *host, "only snapshots of this host");
  cmd->callback([&g, tags, host] {
    auto repo = OpenRepo(g, {}, Access::kAppend);
    auto all = snapshot::ListSnapshots(*repo);
    if (!all.ok()) Fail(all.status());
    std::vector<snapshot::Entry> shown;
    for (auto& e : *all) {
      if (!host->empty() && e.snapshot.host != *host) continue;
      bool tag_ok = tags->empty();
      for (const auto& t : *tags)
        if (std::count(e.snapshot.tags.begin(), e.snapshot.tags.end(), t)) tag_ok = true;
      if (tag_ok) shown.push_back(std::move(e));
    }
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : shown) a.push_back(SnapshotJson(e));
      std::cout << DumpJson(a) << "\n";
      return;
    }
    std::printf("%-8s  %-19s  %-15s  %-12s  %-10s  %s\n", "ID", "Time", "Host", "Tags", "Size", "Paths");
    for (const auto& e : shown)
      std::printf("%-8s  %-19s  %-15s  %-12s  %-10s  %s\n", e.id.Short().c_str(),
                  FormatTimeLocal(e.snapshot.time).c_str(), e.snapshot.host.c_str(),
                  Join(e.snapshot.tags, ",").c_str(),
                  HumanBytes(e.snapshot.summary.total_bytes).c_str(),
                  Join(e.snapshot.paths, " ").c_str());
    std::printf("%zu snapshots\n", shown.size());
  });
}

void RegisterLs(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("ls", "list the files in a snapshot");
  auto snap = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>("/");
  auto longfmt = std::make_shared<bool>(false);
  cmd->add_option("snapshot", *snap, "snapshot id, prefix or 'latest'")->required();
  cmd->add_option("path", *path, "only this path and what is below it");
  cmd->add_flag("-l,--long", *longfmt, "show type, mode, size and time");
  cmd->callback([&g, snap, path, longfmt] {
    auto repo = OpenRepo(g);
    auto e = snapshot::FindSnapshot(*repo, *snap);
    if (!e.ok()) Fail(e.status());
    std::string base = *path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    auto node = snapshot::FindNode(*repo, e->snapshot, base);
    if (!node.ok()) Fail(node.status());
    auto print = [&](const std::string& p, const Node& n) {
      if (g.json) {
        std::cout << DumpJson({{"path", SafeString(p)}, {"type", fs::FileTypeName(n.meta.type)},
                               {"size", n.meta.size}, {"mode", n.meta.mode}, {"uid", n.meta.uid},
                               {"gid", n.meta.gid}, {"mtime", FormatTimeRfc3339(n.meta.mtime_ns)}})
                  << "\n";
      } else if (*longfmt) {
        std::printf("%-8s %05o %6u %6u %12llu %s %s\n", fs::FileTypeName(n.meta.type), n.meta.mode,
                    n.meta.uid, n.meta.gid, (unsigned long long)n.meta.size,
                    FormatTimeLocal(n.meta.mtime_ns).c_str(), p.c_str());
      } else {
        std::printf("%s\n", p.c_str());
      }
    };
    if (base != "/") print(base, *node);
    if (node->meta.type == fs::FileType::kDirectory) Walk(*repo, node->subtree, base, print);
  });
}

void RegisterDiff(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("diff", "show what changed between two snapshots");
  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  cmd->add_option("snapshot1", *a, "older snapshot")->required();
  cmd->add_option("snapshot2", *b, "newer snapshot")->required();
  cmd->callback([&g, a, b] {
    auto repo = OpenRepo(g);
    auto ea = snapshot::FindSnapshot(*repo, *a);
    if (!ea.ok()) Fail(ea.status());
    auto eb = snapshot::FindSnapshot(*repo, *b);
    if (!eb.ok()) Fail(eb.status());
    DiffOut out{g.json};
    DiffTrees(*repo, ea->snapshot.tree, eb->snapshot.tree, "/", out);
    if (g.json)
      std::cout << DumpJson({{"message_type", "summary"}, {"added", out.added},
                             {"removed", out.removed}, {"changed", out.changed}})
                << "\n";
    else if (!g.quiet)
      std::printf("\n%llu added, %llu removed, %llu changed\n", (unsigned long long)out.added,
                  (unsigned long long)out.removed, (unsigned long long)out.changed);
  });
}

}  // namespace lb::app
