// Fuzzes DecodeTree (the CBOR of a tree blob) and its round trip, and checks that the
// streaming decoder agrees with the DOM reference decoder on every input.
#include "fuzz_common.h"
#include "snapshot/tree_decoder.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = snapshot::DecodeTree(fuzz::Input(data, size));
  fuzz::Note("tree", t.status());
  auto reference = snapshot::internal::DecodeTreeDom(fuzz::Input(data, size));
  FUZZ_CHECK(reference.ok() == t.ok());
  FUZZ_CHECK(reference.status().code() == t.status().code());
  if (t.ok()) {
    FUZZ_CHECK(reference->nodes.size() == t->nodes.size());
    for (size_t i = 0; i < t->nodes.size(); ++i) FUZZ_CHECK(fuzz::SameNode(t->nodes[i], reference->nodes[i]));
  }
  if (!t.ok()) {
    FUZZ_CHECK(fuzz::IsRejection(t.status()));
    return 0;
  }
  for (size_t i = 0; i < t->nodes.size(); ++i) {
    const std::string& name = t->nodes[i].name;
    FUZZ_CHECK(!name.empty() && name != "." && name != "..");
    FUZZ_CHECK(name.find('/') == std::string::npos);
    if (i > 0) FUZZ_CHECK(t->nodes[i - 1].name < name);
  }
  Bytes encoded = snapshot::EncodeTree(*t);
  auto again = snapshot::DecodeTree(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->nodes.size() == t->nodes.size());
  for (size_t i = 0; i < t->nodes.size(); ++i)
    FUZZ_CHECK(fuzz::SameNode(t->nodes[i], again->nodes[i]));
  FUZZ_CHECK(snapshot::EncodeTree(*again) == encoded);
  return 0;
}
