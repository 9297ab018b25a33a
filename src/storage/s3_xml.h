// Reading the small XML documents S3 answers with (list results, errors, multipart
// upload ids), parsed with expat. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lb::storage::s3xml {

// One element that holds only text, e.g. <Key>a/b</Key> inside <Contents>.
struct Leaf {
  std::string path;  // element names from the root, '/'-joined: "ListBucketResult/Contents/Key"
  std::string text;  // entity-decoded character data
  size_t parent = 0;  // sequence number of the parent element: groups siblings
};

// Every leaf of `xml` in document order. Malformed XML is kCorrupt.
Result<std::vector<Leaf>> Leaves(std::string_view xml);

// The text of the first leaf whose path ends with `suffix` ("" when none).
std::string First(const std::vector<Leaf>& leaves, std::string_view suffix);

// Escapes & < > " ' for element text.
std::string Escape(std::string_view s);

}  // namespace lb::storage::s3xml
