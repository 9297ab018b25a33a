#include "storage/s3_xml.h"

#include <expat.h>

#include <memory>

namespace lb::storage::s3xml {

namespace {

struct Frame {
  std::string name;
  std::string text;
  size_t seq;
  bool has_children = false;
};

struct State {
  std::vector<Frame> stack;
  std::vector<Leaf> leaves;
  size_t next_seq = 1;
};

void OnStart(void* user, const XML_Char* name, const XML_Char**) {
  auto* s = static_cast<State*>(user);
  if (!s->stack.empty()) s->stack.back().has_children = true;
  s->stack.push_back(Frame{name, "", s->next_seq++});
}

void OnEnd(void* user, const XML_Char*) {
  auto* s = static_cast<State*>(user);
  Frame f = std::move(s->stack.back());
  s->stack.pop_back();
  if (f.has_children) return;
  std::string path;
  for (const Frame& p : s->stack) path += p.name + "/";
  s->leaves.push_back(Leaf{path + f.name, std::move(f.text), s->stack.empty() ? 0 : s->stack.back().seq});
}

void OnText(void* user, const XML_Char* text, int len) {
  auto* s = static_cast<State*>(user);
  if (!s->stack.empty()) s->stack.back().text.append(text, static_cast<size_t>(len));
}

}  // namespace

Result<std::vector<Leaf>> Leaves(std::string_view xml) {
  std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> p(XML_ParserCreate("UTF-8"), XML_ParserFree);
  if (!p) return Internal("XML_ParserCreate failed");
  State s;
  XML_SetUserData(p.get(), &s);
  XML_SetElementHandler(p.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(p.get(), OnText);
  if (XML_Parse(p.get(), xml.data(), static_cast<int>(xml.size()), 1) != XML_STATUS_OK)
    return Corrupt(std::string("malformed XML from the server: ") + XML_ErrorString(XML_GetErrorCode(p.get())) +
                   " at line " + std::to_string(XML_GetCurrentLineNumber(p.get())));
  return std::move(s.leaves);
}

std::string First(const std::vector<Leaf>& leaves, std::string_view suffix) {
  for (const Leaf& l : leaves) {
    const std::string_view p = l.path;
    if (p.size() >= suffix.size() && p.substr(p.size() - suffix.size()) == suffix &&
        (p.size() == suffix.size() || p[p.size() - suffix.size() - 1] == '/'))
      return l.text;
  }
  return "";
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace lb::storage::s3xml
