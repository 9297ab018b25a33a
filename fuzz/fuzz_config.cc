// Fuzzes DecodeConfig (the plaintext config file) and its round trip through EncodeConfig.
#include "fuzz_common.h"
#include "repo/config.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = repo::DecodeConfig(fuzz::InputString(data, size));
  fuzz::Note("config", c.status());
  if (!c.ok()) {
    FUZZ_CHECK(fuzz::IsRejection(c.status()));
    return 0;
  }
  auto again = repo::DecodeConfig(repo::EncodeConfig(*c));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->version == c->version);
  FUZZ_CHECK(again->id == c->id);
  FUZZ_CHECK(again->chunker.min_size == c->chunker.min_size);
  FUZZ_CHECK(again->chunker.avg_size == c->chunker.avg_size);
  FUZZ_CHECK(again->chunker.max_size == c->chunker.max_size);
  FUZZ_CHECK(again->pack_size == c->pack_size);
  FUZZ_CHECK(again->created == c->created);
  FUZZ_CHECK(c->chunker.Validate().ok());
  return 0;
}
