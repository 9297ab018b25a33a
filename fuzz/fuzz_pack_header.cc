// Fuzzes the pack file parsers.
//  1. DecodePackHeaderEntries on a plaintext header: input = u64 data_end, entries.
//     Accepted headers re-encode to the same bytes.
//  2. The whole input as a pack file: DecodePackTrailer, and ReadPackHeader with fixed
//     master keys (mutations almost always take the reject path; seeds made with the
//     same keys by make_seeds are accepted).
#include "fuzz_common.h"

using namespace lb;

static const repo::MasterKeys& Keys() {
  static const repo::MasterKeys k = fuzz::FixedKeys();
  return k;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::InitCrypto();
  (void)Keys();
  return 0;
}

static void PlainHeader(ByteSpan in) {
  if (in.size() < 8) return;
  ByteReader r(in);
  const uint64_t data_end = *r.U64();
  ByteSpan plain = in.subspan(8);
  auto entries = repo::DecodePackHeaderEntries(plain, data_end);
  fuzz::Note("plain header", entries.status());
  if (!entries.ok()) {
    FUZZ_CHECK(entries.status().code() == Code::kCorrupt);
    return;
  }
  for (const auto& e : *entries) {
    FUZZ_CHECK(uint64_t{e.offset} + e.length <= data_end);
    FUZZ_CHECK(e.length >= crypto::kAeadOverhead);
  }
  Bytes again = repo::EncodePackHeaderEntries(*entries);
  FUZZ_CHECK(again == Bytes(plain.begin(), plain.end()));
}

static void WholePack(ByteSpan in) {
  auto t = repo::DecodePackTrailer(in);
  if (t.ok()) {
    FUZZ_CHECK(t->sealed_key.size() == 80);
    FUZZ_CHECK(t->header_offset + t->header_length + repo::kPackTrailerFixed == in.size());
  } else {
    FUZZ_CHECK(t.status().code() == Code::kCorrupt);
  }
  auto info = repo::ReadPackHeader(Keys(), Id{}, in);
  fuzz::Note("pack", info.status());
  if (!info.ok()) {
    FUZZ_CHECK(info.status().code() == Code::kCorrupt);
    return;
  }
  FUZZ_CHECK(t.ok());
  FUZZ_CHECK(info->size == in.size());
  FUZZ_CHECK(info->key_version == t->key_version);
  for (const auto& e : info->blobs) FUZZ_CHECK(uint64_t{e.offset} + e.length <= t->header_offset);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  PlainHeader(fuzz::Input(data, size));
  WholePack(fuzz::Input(data, size));
  return 0;
}
