// ParsePolicy: the TOML schema of policy.h, checked strictly.
#include "policy/policy.h"

#include <algorithm>

#include "policy/toml_reader.h"

namespace lb::policy {
namespace {

using internal::Quote;
using internal::TomlReader;

Pos KeyPos(const std::map<std::string, Pos>& m, const std::string& key, Pos fallback) {
  const auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

void RecordKeyPositions(const toml::table& t, std::map<std::string, Pos>& out) {
  for (auto&& [k, v] : t) out[std::string(k.str())] = TomlReader::PosOf(v);
}

void ParseTarget(TomlReader& r, std::string_view name, const toml::table& t, Pos pos, Policy& p) {
  const std::string ctx = "[targets." + std::string(name) + "]";
  Target tg;
  tg.name = std::string(name);
  tg.pos = pos;
  RecordKeyPositions(t, tg.key_pos);
  r.CheckKeys(t, {"url", "password_file", "password_env", "encryption", "rotate_keys_every"}, ctx);
  r.Require(t, pos, {"url"}, ctx);
  if (const auto* n = t.get("url")) tg.url = r.String(*n, "'url' in " + ctx).value_or("");
  if (const auto* n = t.get("password_file")) tg.password_file = r.String(*n, "'password_file' in " + ctx).value_or("");
  if (const auto* n = t.get("password_env")) tg.password_env = r.String(*n, "'password_env' in " + ctx).value_or("");
  if (const auto* n = t.get("encryption")) {
    const auto e = r.String(*n, "'encryption' in " + ctx);
    if (e && *e != "required" && *e != "none")
      r.Error(TomlReader::PosOf(*n), "'encryption' in " + ctx + " must be \"required\" or \"none\", not " + Quote(*e));
    tg.encrypted = e.value_or("required") != "none";
  }
  if (const auto* n = t.get("rotate_keys_every")) {
    tg.rotate_keys_every_ns = r.Duration(*n, "'rotate_keys_every' in " + ctx).value_or(0);
    if (tg.rotate_keys_every_ns < 0)
      r.Error(TomlReader::PosOf(*n), "'rotate_keys_every' in " + ctx + " must be positive");
  }
  p.targets.push_back(std::move(tg));
}

void ParseSource(TomlReader& r, const toml::node& n, const std::string& ctx, Service& s) {
  const toml::table* t = r.Table(n, ctx);
  if (t == nullptr) return;
  Source src;
  src.pos = TomlReader::PosOf(n);
  const toml::node* type = t->get("type");
  const std::optional<std::string> ty = type ? r.String(*type, "'type' in " + ctx) : std::nullopt;
  if (type == nullptr) {
    r.Error(src.pos, ctx + " is missing required key 'type'");
    return;
  }
  if (!ty) return;
  if (*ty == "path") {
    r.CheckKeys(*t, {"type", "path", "exclude"}, ctx);
    r.Require(*t, src.pos, {"path"}, ctx);
    if (const auto* v = t->get("path")) {
      src.path = r.String(*v, "'path' in " + ctx).value_or("/");
      if (src.path[0] != '/')
        r.Error(TomlReader::PosOf(*v), "'path' in " + ctx + " must be absolute, not " + Quote(src.path));
    }
    if (const auto* v = t->get("exclude"))
      src.exclude = r.Strings(*v, "'exclude' in " + ctx).value_or(std::vector<std::string>{});
  } else if (*ty == "command") {
    src.type = Source::Type::kCommand;
    r.CheckKeys(*t, {"type", "name", "command"}, ctx);
    r.Require(*t, src.pos, {"name", "command"}, ctx);
    if (const auto* v = t->get("name")) {
      src.name = r.String(*v, "'name' in " + ctx).value_or("x");
      if (src.name.find('/') != std::string::npos || src.name == "." || src.name == "..")
        r.Error(TomlReader::PosOf(*v), "'name' in " + ctx + " must be a plain file name, not " + Quote(src.name));
      for (const Source& o : s.sources)
        if (o.type == Source::Type::kCommand && o.name == src.name)
          r.Error(TomlReader::PosOf(*v), "two command sources in " + ctx + " are named " + Quote(src.name));
    }
    if (const auto* v = t->get("command")) {
      src.command = r.Strings(*v, "'command' in " + ctx).value_or(std::vector<std::string>{"x"});
      if (src.command.empty()) r.Error(TomlReader::PosOf(*v), "'command' in " + ctx + " must not be empty");
    }
  } else {
    r.Error(TomlReader::PosOf(*type), "'type' in " + ctx + " must be \"path\" or \"command\", not " + Quote(*ty));
  }
  s.sources.push_back(std::move(src));
}

void ParseRetention(TomlReader& r, const toml::node& n, const std::string& ctx, Service& s) {
  const toml::table* t = r.Table(n, ctx);
  if (t == nullptr) return;
  r.CheckKeys(*t, {"last", "hourly", "daily", "weekly", "monthly", "yearly", "within", "tags"}, ctx);
  retention::Rules rules;
  const std::pair<const char*, int*> counts[] = {{"last", &rules.last},       {"hourly", &rules.hourly},
                                                 {"daily", &rules.daily},     {"weekly", &rules.weekly},
                                                 {"monthly", &rules.monthly}, {"yearly", &rules.yearly}};
  for (const auto& [key, field] : counts) {
    const toml::node* v = t->get(key);
    if (v == nullptr) continue;
    const auto i = r.Integer(*v, Quote(key) + " in " + ctx);
    if (i && (*i < -1 || *i > 1000000)) {
      r.Error(TomlReader::PosOf(*v), Quote(key) + " in " + ctx + " must be a count >= 0, or -1 for unlimited");
    } else if (i) {
      *field = static_cast<int>(*i);
    }
  }
  if (const auto* v = t->get("within")) rules.within_ns = r.Duration(*v, "'within' in " + ctx).value_or(0);
  if (const auto* v = t->get("tags"))
    rules.keep_tags = r.Strings(*v, "'tags' in " + ctx).value_or(std::vector<std::string>{});
  s.retention = rules;
}

void ParseScheduleKeys(TomlReader& r, const toml::table& t, const std::string& ctx, Service& s) {
  const toml::node* n = t.get("schedule");
  if (n == nullptr) return;
  const auto text = r.String(*n, "'schedule' in " + ctx);
  if (!text) return;
  size_t offset = 0;
  auto sched = policy::ParseSchedule(*text, &offset);
  if (!sched.ok()) {
    r.Error(TomlReader::CharPos(*n, offset), "'schedule' in " + ctx + ": " + sched.status().message());
    return;
  }
  s.schedule = std::move(*sched);
  const toml::node* w = t.get("window");
  if (w == nullptr) return;
  const auto wtext = r.String(*w, "'window' in " + ctx);
  if (!wtext) return;
  auto win = ParseWindow(*wtext);
  auto with = win.ok() ? WithWindow(s.schedule, *win, *wtext) : Result<Schedule>(win.status());
  if (!with.ok()) {
    r.Error(TomlReader::PosOf(*w), "'window' in " + ctx + ": " + with.status().message());
    return;
  }
  s.schedule = std::move(*with);
}

void ParseService(TomlReader& r, std::string_view name, const toml::table& t, Pos pos, Policy& p) {
  const std::string ctx = "[services." + std::string(name) + "]";
  Service s;
  s.name = std::string(name);
  s.pos = pos;
  RecordKeyPositions(t, s.key_pos);
  r.CheckKeys(t,
              {"owner", "description", "rpo", "rto", "schedule", "window", "sources", "targets", "retention",
               "encryption", "hooks", "depends_on", "drill", "size_hint"},
              ctx);
  r.Require(t, pos, {"rpo", "rto", "schedule", "sources"}, ctx);
  auto q = [&](const char* key) { return Quote(key) + " in " + ctx; };
  if (const auto* n = t.get("owner")) s.owner = r.String(*n, q("owner")).value_or("");
  if (const auto* n = t.get("description")) s.description = r.String(*n, q("description"), false).value_or("");
  if (const auto* n = t.get("rpo")) s.rpo_ns = r.Duration(*n, q("rpo")).value_or(0);
  if (const auto* n = t.get("rto")) s.rto_ns = r.Duration(*n, q("rto")).value_or(0);
  ParseScheduleKeys(r, t, ctx, s);
  if (t.contains("window") && !t.contains("schedule"))
    r.Error(KeyPos(s.key_pos, "window", pos), "'window' in " + ctx + " needs a 'schedule'");
  if (const auto* n = t.get("sources")) {
    if (const auto* a = n->as_array()) {
      if (a->empty()) r.Error(TomlReader::PosOf(*n), q("sources") + " must not be empty");
      for (size_t i = 0; i < a->size(); ++i) ParseSource(r, *a->get(i), ctx + ".sources[" + std::to_string(i) + "]", s);
    } else {
      r.Error(TomlReader::PosOf(*n), q("sources") + " must be an array of tables");
    }
  }
  if (const auto* n = t.get("targets")) s.targets = r.Names(*n, q("targets")).value_or(std::vector<Ref>{});
  if (const auto* n = t.get("depends_on")) s.depends_on = r.Names(*n, q("depends_on")).value_or(std::vector<Ref>{});
  if (const auto* n = t.get("retention")) ParseRetention(r, *n, ctx + ".retention", s);
  if (const auto* n = t.get("encryption")) {
    const auto e = r.String(*n, q("encryption"));
    if (e && *e != "required" && *e != "optional")
      r.Error(TomlReader::PosOf(*n), q("encryption") + " must be \"required\" or \"optional\", not " + Quote(*e));
    s.encryption_required = e.value_or("required") != "optional";
  }
  if (const auto* n = t.get("hooks")) {
    if (const toml::table* h = r.Table(*n, q("hooks"))) {
      r.CheckKeys(*h, {"before", "after"}, ctx + ".hooks");
      if (const auto* v = h->get("before"))
        s.hooks.before = r.Strings(*v, "'before' in " + ctx + ".hooks").value_or(std::vector<std::string>{});
      if (const auto* v = h->get("after"))
        s.hooks.after = r.Strings(*v, "'after' in " + ctx + ".hooks").value_or(std::vector<std::string>{});
    }
  }
  if (const auto* n = t.get("drill")) {
    if (const toml::table* d = r.Table(*n, q("drill"))) {
      const std::string dctx = ctx + ".drill";
      Drill drill;
      drill.pos = TomlReader::PosOf(*n);
      r.CheckKeys(*d, {"every", "validate"}, dctx);
      r.Require(*d, drill.pos, {"every"}, dctx);
      if (const auto* v = d->get("every")) drill.every_ns = r.Duration(*v, "'every' in " + dctx).value_or(0);
      if (const auto* v = d->get("validate"))
        drill.validate = r.Strings(*v, "'validate' in " + dctx).value_or(std::vector<std::string>{});
      s.drill = std::move(drill);
    }
  }
  if (const auto* n = t.get("size_hint")) s.size_hint_bytes = r.Size(*n, q("size_hint")).value_or(0);
  p.services.push_back(std::move(s));
}

// Walks [targets.*] or [services.*].
template <typename F>
void ForEachEntry(TomlReader& r, const toml::node& n, const char* section, F&& parse) {
  const toml::table* t = r.Table(n, Quote(section));
  if (t == nullptr) return;
  for (auto&& [k, v] : *t) {
    const std::string what = "[" + std::string(section) + "." + std::string(k.str()) + "]";
    if (!internal::ValidName(k.str())) {
      r.Error(TomlReader::PosOf(k),
              "name " + Quote(k.str()) + " of " + what + " is not valid (letters, digits, '.', '_', '-')");
      continue;
    }
    if (const toml::table* e = r.Table(v, what)) parse(k.str(), *e, TomlReader::PosOf(v));
  }
}

}  // namespace

Pos Target::At(const std::string& key) const { return KeyPos(key_pos, key, pos); }
Pos Service::At(const std::string& key) const { return KeyPos(key_pos, key, pos); }

const Target* Policy::FindTarget(std::string_view name) const {
  for (const Target& t : targets)
    if (t.name == name) return &t;
  return nullptr;
}

const Service* Policy::FindService(std::string_view name) const {
  for (const Service& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

std::string Where(std::string_view file, Pos pos) {
  if (pos.line <= 0) return std::string(file);
  return std::string(file) + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.col);
}

Result<Policy> ParsePolicy(std::string_view text, std::string_view filename) {
  toml::table root;
  try {
    root = toml::parse(text, filename);
  } catch (const toml::parse_error& e) {
    const Pos pos{static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column)};
    return InvalidArgument(Where(filename, pos) + ": " + std::string(e.description()));
  }
  TomlReader r{std::string(filename)};
  Policy p;
  p.file = std::string(filename);
  r.CheckKeys(root, {"timezone", "targets", "services"}, "the top level");
  if (const auto* n = root.get("timezone")) {
    if (const auto z = r.String(*n, "'timezone'")) {
      auto zone = ParseZone(*z);
      if (zone.ok())
        p.zone = *zone;
      else
        r.Error(TomlReader::PosOf(*n), "'timezone': " + zone.status().message());
    }
  }
  if (const auto* n = root.get("targets"))
    ForEachEntry(r, *n, "targets", [&](auto name, const auto& t, Pos pos) { ParseTarget(r, name, t, pos, p); });
  if (const auto* n = root.get("services"))
    ForEachEntry(r, *n, "services", [&](auto name, const auto& t, Pos pos) { ParseService(r, name, t, pos, p); });
  if (r.has_errors()) return r.FirstError();
  return p;
}

}  // namespace lb::policy
