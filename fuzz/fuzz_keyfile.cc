// Fuzzes the key file parsers without any password or KDF work: ParseKeyFile (the
// outer JSON) and DecodeMasterKeys (the secret JSON inside), with their round trips.
// Both get the whole input: the seed corpus holds examples of each.
#include "fuzz_common.h"

using namespace lb;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::InitCrypto();
  return 0;
}

static void KeyFile(const std::string& text) {
  auto f = repo::ParseKeyFile(text);
  fuzz::Note("key file", f.status());
  auto info = repo::ReadKeyFileInfo(text);
  if (!info.ok()) FUZZ_CHECK(info.status().code() == Code::kCorrupt);
  if (!f.ok()) {
    FUZZ_CHECK(fuzz::IsRejection(f.status()));
    return;
  }
  FUZZ_CHECK(info.ok());  // what the strict parser accepts, the lenient one does too
  FUZZ_CHECK(info->created == f->info.created && info->host == f->info.host &&
             info->user == f->info.user);
  FUZZ_CHECK(f->salt.size() == 16);
  FUZZ_CHECK(f->data.size() >= crypto::kAeadOverhead);
  auto again = repo::ParseKeyFile(repo::EncodeKeyFileFields(*f));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->info.created == f->info.created);
  FUZZ_CHECK(again->info.host == f->info.host);
  FUZZ_CHECK(again->info.user == f->info.user);
  FUZZ_CHECK(again->kdf.ops == f->kdf.ops);
  FUZZ_CHECK(again->kdf.mem_bytes == f->kdf.mem_bytes);
  FUZZ_CHECK(again->salt == f->salt);
  FUZZ_CHECK(again->data == f->data);
}

static void MasterKeys(ByteSpan json) {
  auto k = repo::DecodeMasterKeys(json);
  fuzz::Note("master keys", k.status());
  if (!k.ok()) {
    FUZZ_CHECK(k.status().code() == Code::kCorrupt);
    return;
  }
  FUZZ_CHECK(!k->data_keys.empty());
  FUZZ_CHECK(k->Find(k->current) != nullptr);
  std::string text = repo::EncodeMasterKeys(*k);
  auto again = repo::DecodeMasterKeys(AsBytes(text));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(fuzz::SameKeys(*k, *again));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  KeyFile(fuzz::InputString(data, size));
  MasterKeys(fuzz::Input(data, size));
  return 0;
}
