// The tamper-evident audit log: one entry per operation that changes a
// repository (init, backup, copy, forget, prune, key changes, repair).
//
// Storage: each entry is an ordinary immutable repository file in audit/,
// AES-256-GCM encrypted under the meta key (ad "lifeboat audit v1") and named
// by the SHA-256 of its bytes. Entries are hash-chained: an entry names the
// entries that were the newest ("heads") when it was written (usually one;
// several after concurrent writers), and carries seq = 1 + the largest seq it
// names. Each entry is signed with Ed25519 by the acting key file's signer
// (repo/keys.h); the key files publish their signer's public key.
//
// Verification (Verify) reports, per entry:
//   edited     the file's bytes do not match its name, or it does not decrypt
//   forged     the signature does not verify, or the signer is not the one the
//              named key file publishes (or, for a key file that is gone or
//              predates signers, not the one its earlier entries used)
//   removed    an entry names a predecessor that is missing
//   reordered  seq or time are not after the predecessors'
// Removing the newest entries leaves no dangling name; the caller compares
// with the newest entry it saw before (a local anchor) to catch that.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "repo/repository.h"

namespace lb::audit {

struct Entry {
  uint64_t seq = 0;
  std::vector<std::string> prev;  // names of the heads when written, sorted
  TimeNs time = 0;
  std::string host, user;
  std::string key_id;   // key file that acted
  std::string command;  // e.g. "backup", "forget", "key add"
  std::vector<std::string> added, removed;  // "snapshot:ID", "pack:ID", "key:ID", ...
  std::string signer;     // hex Ed25519 public key
  std::string signature;  // hex, over Body(entry)
};

// The signed bytes: canonical JSON of every field but the signature.
std::string Body(const Entry& e);
// Encrypted file bytes / decoding (kCorrupt when it does not decrypt or parse).
Bytes EncodeFile(const crypto::Key& meta_key, const Entry& e);
Result<Entry> DecodeFile(const crypto::Key& meta_key, ByteSpan file);

// Writes a new entry for `command` by the repository's key, chained to the
// current heads. `host`, `user` and the time are filled in here. Returns the
// new entry's name.
Result<std::string> Append(repo::Repository& repo, const std::string& command,
                           std::vector<std::string> added, std::vector<std::string> removed,
                           const std::string& host, const std::string& user, const Clock& clock);

struct Finding {
  enum class Kind { kEdited, kForged, kRemoved, kReordered };
  Kind kind;
  std::string entry;  // the entry concerned (file name)
  std::string message;
};
const char* KindName(Finding::Kind k);  // "edited", "forged", "removed", "reordered"

struct Log {
  std::vector<std::pair<std::string, Entry>> entries;  // readable ones, by (seq, time, name)
  std::vector<std::string> heads;                      // entries no other entry names
  std::vector<Finding> findings;
};

// Pure core of verification. `files`: name -> raw file bytes. `signers`: key
// id -> hex public key published by that key file (absent or "" = unknown).
Log VerifyFiles(const crypto::Key& meta_key, const std::map<std::string, Bytes>& files,
                const std::map<std::string, std::string>& signers);
// Loads every audit file and key file of the repository and verifies them.
Result<Log> Verify(repo::Repository& repo);

}  // namespace lb::audit
