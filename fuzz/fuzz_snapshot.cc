// Fuzzes DecodeSnapshot (the CBOR payload of a snapshot file) and its round trip.
#include "fuzz_common.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = snapshot::DecodeSnapshot(fuzz::Input(data, size));
  fuzz::Note("snapshot", s.status());
  if (!s.ok()) {
    FUZZ_CHECK(fuzz::IsRejection(s.status()));
    return 0;
  }
  Bytes encoded = snapshot::EncodeSnapshot(*s);
  auto again = snapshot::DecodeSnapshot(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(fuzz::SameSnapshot(*s, *again));
  FUZZ_CHECK(snapshot::EncodeSnapshot(*again) == encoded);
  return 0;
}
