// Fuzzes DecodeIndexPayload (the plaintext inside an index file). The encoding is
// canonical, so an accepted payload must re-encode to exactly the input bytes.
#include "fuzz_common.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in = fuzz::Input(data, size);
  auto index = repo::DecodeIndexPayload(in);
  fuzz::Note("index", index.status());
  if (!index.ok()) {
    FUZZ_CHECK(index.status().code() == Code::kCorrupt);
    return 0;
  }
  for (const auto& pk : index->packs) {
    FUZZ_CHECK(pk.sealed_key.size() == 80);
    for (const auto& e : pk.blobs) FUZZ_CHECK(uint64_t{e.offset} + e.length <= pk.size);
  }
  Bytes again = repo::EncodeIndexPayload(*index);
  FUZZ_CHECK(again == Bytes(in.begin(), in.end()));
  return 0;
}
