// Fuzzes DecodeLock (the JSON inside a lock file) and its round trip through EncodeLock.
#include "fuzz_common.h"
#include "repo/lock.h"

using namespace lb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto l = repo::DecodeLock(fuzz::Input(data, size));
  fuzz::Note("lock", l.status());
  if (!l.ok()) {
    FUZZ_CHECK(l.status().code() == Code::kCorrupt);
    return 0;
  }
  FUZZ_CHECK(l->pid >= 0);
  auto again = repo::DecodeLock(repo::EncodeLock(*l));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->host == l->host);
  FUZZ_CHECK(again->pid == l->pid);
  FUZZ_CHECK(again->time == l->time);
  FUZZ_CHECK(again->exclusive == l->exclusive);
  FUZZ_CHECK(again->command == l->command);
  FUZZ_CHECK(again->user == l->user);
  return 0;
}
