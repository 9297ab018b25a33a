// Tree decoding, internal to lb_snapshot (and its tests and fuzzers).
//
// DecodeTree (snapshot.h) is on every hot path that reads trees: a re-backup loads
// each directory of the parent snapshot, a restore or check every directory. Building
// an nlohmann DOM for each tree allocates a map entry and a string per field of every
// node; DecodeTreeStreaming drives nlohmann's CBOR reader through a SAX handler that
// fills Nodes directly instead. It accepts and rejects exactly what the DOM decoder
// does (same checks, same Status codes: kUnsupported for an unknown tree version,
// kCorrupt for everything else); DecodeTreeDom is kept as the reference that the
// unit tests and the tree fuzzer compare it with.
#pragma once

#include "base/bytes.h"
#include "base/status.h"
#include "snapshot/snapshot.h"

namespace lb::snapshot::internal {

Result<Tree> DecodeTreeStreaming(ByteSpan data);
Result<Tree> DecodeTreeDom(ByteSpan data);
// The whole tree as one DOM: the reference EncodeTree must match byte for byte.
Bytes EncodeTreeDom(const Tree& tree);

// Shared with the DOM decoder: nlohmann's CBOR reader recurses per nesting level.
bool CborDepthOk(ByteSpan data);
// The checks on a decoded node's name (one path component).
bool ValidNodeName(const std::string& name);

}  // namespace lb::snapshot::internal
