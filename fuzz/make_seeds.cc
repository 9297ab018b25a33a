// Writes the seed corpus for the fuzz targets: a handful of small valid inputs per
// target, made with the real encoders, plus a few near-misses (truncated, a newer
// version, one field wrong). Usage: make_seeds <corpus dir> (e.g. fuzz/corpus).
// Each file goes to <corpus dir>/<target>/<name>. Key files and packs contain random
// salts and keys, so a rerun changes some bytes but not what the seeds cover.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "repo/config.h"
#include "repo/lock.h"

using namespace lb;
using nlohmann::json;
namespace fsys = std::filesystem;

namespace {

fsys::path g_root;

void Put(const std::string& target, const std::string& name, ByteSpan bytes) {
  fsys::path dir = g_root / target;
  fsys::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_seeds: cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}
void Put(const std::string& target, const std::string& name, const std::string& text) {
  Put(target, name, AsBytes(text));
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  if (pos == std::string::npos) {
    std::fprintf(stderr, "make_seeds: '%s' not found\n", from.c_str());
    std::exit(1);
  }
  return s.replace(pos, from.size(), to);
}

Bytes Truncated(ByteSpan b) { return Bytes(b.begin(), b.begin() + b.size() / 2); }

Id IdOf(uint8_t fill) {
  Id id;
  for (size_t i = 0; i < 32; ++i) id.b[i] = static_cast<uint8_t>(fill + i);
  return id;
}

void ConfigSeeds() {
  repo::Config c;
  c.id = std::string(64, 'a');
  c.created = 1700000000123456789LL;
  const std::string valid = repo::EncodeConfig(c);
  Put("fuzz_config", "valid-default", valid);
  repo::Config small = c;
  small.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  small.chunker = {64, 128, 256};
  small.pack_size = 4096;
  small.created = -1;
  Put("fuzz_config", "valid-small", repo::EncodeConfig(small));
  Put("fuzz_config", "valid-compact", json::parse(valid).dump());
  Put("fuzz_config", "miss-version-2", Replace(valid, "\"version\": 1", "\"version\": 2"));
  Put("fuzz_config", "miss-version-float", Replace(valid, "\"version\": 1", "\"version\": 1.0"));
  Put("fuzz_config", "miss-version-1e300",
      Replace(valid, "\"version\": 1", "\"version\": 1e300"));
  Put("fuzz_config", "miss-avg-not-pow2", Replace(valid, "1048576", "1048577"));
  Put("fuzz_config", "miss-short-id", Replace(valid, std::string(64, 'a'), std::string(63, 'a')));
  Put("fuzz_config", "miss-truncated", Truncated(AsBytes(valid)));
}

void KeyFileSeeds() {
  const repo::MasterKeys keys = fuzz::FixedKeys();
  repo::KdfParams kdf;
  kdf.ops = crypto_pwhash_OPSLIMIT_MIN;
  kdf.mem_bytes = crypto_pwhash_MEMLIMIT_MIN;
  auto text = repo::EncodeKeyFile(keys, "pw", kdf, {1700000000000000000LL, "host", "user"});
  if (!text.ok()) {
    std::fprintf(stderr, "make_seeds: %s\n", text.status().ToString().c_str());
    std::exit(1);
  }
  Put("fuzz_keyfile", "keyfile-valid", *text);
  Put("fuzz_keyfile", "keyfile-valid-compact", json::parse(*text).dump());
  Put("fuzz_keyfile", "keyfile-miss-version-2", Replace(*text, "\"version\": 1", "\"version\": 2"));
  Put("fuzz_keyfile", "keyfile-miss-kdf", Replace(*text, "argon2id", "scrypt"));
  Put("fuzz_keyfile", "keyfile-miss-ops-0", Replace(*text, "\"ops\": 1", "\"ops\": 0"));
  Put("fuzz_keyfile", "keyfile-miss-truncated", Truncated(AsBytes(*text)));

  const std::string master = repo::EncodeMasterKeys(keys);
  Put("fuzz_keyfile", "master-valid", master);
  repo::MasterKeys two = keys;
  repo::DataKey second = keys.data_keys[0];
  second.version = 7;
  second.pair.secret_key[0] ^= 1;
  two.data_keys.push_back(second);
  two.current = 7;
  Put("fuzz_keyfile", "master-valid-two-versions", repo::EncodeMasterKeys(two));
  Put("fuzz_keyfile", "master-miss-current", Replace(master, "\"current\":1", "\"current\":2"));
  Put("fuzz_keyfile", "master-miss-short-key",
      Replace(master, "\"id_key\":\"", "\"id_key\":\"AAAA"));
}

repo::BlobEntry Entry(uint8_t fill, repo::BlobKind kind, repo::Compression comp, uint32_t offset,
                      uint32_t length) {
  repo::BlobEntry e;
  e.id = IdOf(fill);
  e.kind = kind;
  e.compression = comp;
  e.offset = offset;
  e.length = length;
  e.raw_length = length * 3;
  return e;
}

// fuzz_pack_header input: u64 data_end, then the plaintext entries.
Bytes PlainHeader(uint64_t data_end, const std::vector<repo::BlobEntry>& entries) {
  Bytes out;
  PutU64(out, data_end);
  PutBytes(out, repo::EncodePackHeaderEntries(entries));
  return out;
}

void PackSeeds() {
  using repo::BlobKind;
  using repo::Compression;
  std::vector<repo::BlobEntry> three = {
      Entry(1, BlobKind::kData, Compression::kNone, 0, 40),
      Entry(2, BlobKind::kTree, Compression::kZstd, 40, 100),
      Entry(3, BlobKind::kData, Compression::kZstd, 140, 28)};
  Put("fuzz_pack_header", "plain-valid-empty", PlainHeader(0, {}));
  Put("fuzz_pack_header", "plain-valid-one", PlainHeader(40, {three[0]}));
  Put("fuzz_pack_header", "plain-valid-three", PlainHeader(168, three));
  Put("fuzz_pack_header", "plain-miss-outside", PlainHeader(167, three));
  Bytes partial = PlainHeader(168, three);
  partial.pop_back();
  Put("fuzz_pack_header", "plain-miss-partial-entry", partial);
  Bytes kind = PlainHeader(168, three);
  kind[8] = 2;
  Put("fuzz_pack_header", "plain-miss-kind-2", kind);

  // Whole packs sealed to the fixed keys: ReadPackHeader accepts these.
  const repo::MasterKeys keys = fuzz::FixedKeys();
  for (int n : {1, 3}) {
    repo::PackBuilder b(keys.Current());
    for (int i = 0; i < n; ++i) {
      std::string blob = "blob " + std::to_string(i);
      Bytes plain(blob.begin(), blob.end());
      b.Add(crypto::HmacSha256(keys.id_key, plain), i == 1 ? BlobKind::kTree : BlobKind::kData,
            Compression::kNone, static_cast<uint32_t>(plain.size()), plain);
    }
    repo::PackInfo info;
    Bytes pack = b.Finish(info);
    Put("fuzz_pack_header", "pack-valid-" + std::to_string(n), pack);
    if (n == 3) {
      Bytes magic = pack;
      magic.back() = '2';
      Put("fuzz_pack_header", "pack-miss-magic", magic);
      Bytes front(pack.begin() + 10, pack.end());
      Put("fuzz_pack_header", "pack-miss-front-cut", front);
    }
  }
}

Bytes SealedKey(uint8_t fill) { return Bytes(80, fill); }

void IndexSeeds() {
  using repo::BlobKind;
  using repo::Compression;
  repo::IndexFile empty;
  Put("fuzz_index", "valid-empty", repo::EncodeIndexPayload(empty));
  repo::IndexFile idx;
  idx.supersedes.push_back(IdOf(9));
  repo::PackInfo p1;
  p1.id = IdOf(20);
  p1.key_version = 1;
  p1.sealed_key = SealedKey(0xaa);
  p1.size = 400;
  p1.blobs = {Entry(1, BlobKind::kData, Compression::kNone, 0, 40),
              Entry(2, BlobKind::kTree, Compression::kZstd, 40, 100)};
  repo::PackInfo p2 = p1;
  p2.id = IdOf(30);
  p2.key_version = 2;
  p2.blobs = {Entry(3, BlobKind::kData, Compression::kZstd, 0, 28)};
  idx.packs = {p1, p2};
  Bytes valid = repo::EncodeIndexPayload(idx);
  Put("fuzz_index", "valid-two-packs", valid);
  repo::IndexFile one;
  one.packs = {p2};
  Put("fuzz_index", "valid-one-pack", repo::EncodeIndexPayload(one));
  Bytes trailing = valid;
  trailing.push_back(0);
  Put("fuzz_index", "miss-trailing-byte", trailing);
  Bytes magic = valid;
  magic[3] = '2';
  Put("fuzz_index", "miss-magic", magic);
  repo::IndexFile outside = one;
  outside.packs[0].size = 27;
  Put("fuzz_index", "miss-entry-outside", repo::EncodeIndexPayload(outside));
  Put("fuzz_index", "miss-truncated", Truncated(valid));
}

// Arrays nested 40 deep (the decoders allow 32; nlohmann's reader would recurse).
Bytes DeepCbor() {
  Bytes b(40, 0x81);
  b.push_back(0x00);
  return b;
}

void SnapshotSeeds() {
  snapshot::Snapshot s;
  s.time = 1700000000123456789LL;
  s.host = "host";
  s.user = "user";
  s.uid = 1000;
  s.gid = 1000;
  s.paths = {"/home/user", "/etc"};
  s.tags = {"daily"};
  s.tree = IdOf(1);
  s.summary.files_new = 3;
  s.summary.bytes_read = 12345;
  s.summary.duration_s = 1.5;
  s.program_version = "lifeboat 0.1.0";
  Bytes valid = snapshot::EncodeSnapshot(s);
  Put("fuzz_snapshot", "valid-first", valid);
  snapshot::Snapshot child = s;
  child.parent = IdOf(2);
  child.partial_files = {"/home/user/locked"};
  child.original = IdOf(3);
  child.tags = {};
  Put("fuzz_snapshot", "valid-with-parent", snapshot::EncodeSnapshot(child));
  json j = json::from_cbor(valid);
  j["v"] = 2;
  Put("fuzz_snapshot", "miss-version-2", json::to_cbor(j));
  j = json::from_cbor(valid);
  j["tree"] = json::binary(std::vector<uint8_t>(31, 1));
  Put("fuzz_snapshot", "miss-short-tree-id", json::to_cbor(j));
  j = json::from_cbor(valid);
  j["uid"] = 1.5;
  Put("fuzz_snapshot", "miss-float-uid", json::to_cbor(j));
  Put("fuzz_snapshot", "miss-truncated", Truncated(valid));
  Put("fuzz_snapshot", "miss-deep-nesting", DeepCbor());
}

void TreeSeeds() {
  using fs::FileType;
  snapshot::Tree t;
  snapshot::Node dir;
  dir.name = "dir";
  dir.meta.type = FileType::kDirectory;
  dir.meta.mode = 0755;
  dir.meta.mtime_ns = dir.meta.atime_ns = 1700000000000000000LL;
  dir.subtree = IdOf(5);
  snapshot::Node file;
  file.name = "file.txt";
  file.meta.type = FileType::kRegular;
  file.meta.mode = 04644;
  file.meta.uid = 1000;
  file.meta.gid = 100;
  file.meta.user = "user";
  file.meta.group = "users";
  file.meta.size = 2000000;
  file.meta.mtime_ns = file.meta.atime_ns = 1700000000000000001LL;
  file.meta.ctime_ns = 1700000000000000002LL;
  file.meta.inode = 42;
  file.meta.device = 2049;
  file.meta.nlink = 2;
  file.meta.xattrs = {{"system.posix_acl_access", std::string("\x02\x00\x00\x00", 4)},
                      {"user.comment", "hi"}};
  file.content = {IdOf(6), IdOf(7)};
  snapshot::Node link;
  link.name = "link";
  link.meta.type = FileType::kSymlink;
  link.meta.mode = 0777;
  link.meta.symlink_target = "../target";
  link.meta.size = 9;
  snapshot::Node dev;
  dev.name = "null";
  dev.meta.type = FileType::kCharDevice;
  dev.meta.mode = 0666;
  dev.meta.rdev = 259;
  dev.error = "permission denied";
  t.nodes = {dir, file, link, dev};
  Bytes valid = snapshot::EncodeTree(t);
  Put("fuzz_tree", "valid-mixed", valid);
  snapshot::Tree empty;
  Put("fuzz_tree", "valid-empty", snapshot::EncodeTree(empty));
  snapshot::Tree single;
  single.nodes = {file};
  Put("fuzz_tree", "valid-one-file", snapshot::EncodeTree(single));
  snapshot::Tree unsorted;
  unsorted.nodes = {link, dir};
  Put("fuzz_tree", "miss-unsorted", snapshot::EncodeTree(unsorted));
  snapshot::Tree slash;
  slash.nodes = {file};
  slash.nodes[0].name = "a/b";
  Put("fuzz_tree", "miss-slash-in-name", snapshot::EncodeTree(slash));
  json j = json::from_cbor(valid);
  j["nodes"][0]["t"] = 7;
  Put("fuzz_tree", "miss-type-7", json::to_cbor(j));
  j = json::from_cbor(valid);
  j["nodes"][1]["lt"] = json::binary(std::vector<uint8_t>{'x'});  // ignored: not a symlink
  Put("fuzz_tree", "valid-link-target-on-file", json::to_cbor(j));
  j = json::from_cbor(valid);
  j["nodes"][1]["u"] = -1e300;
  Put("fuzz_tree", "miss-float-uid", json::to_cbor(j));
  Put("fuzz_tree", "miss-truncated", Truncated(valid));
  Put("fuzz_tree", "miss-deep-nesting", DeepCbor());
}

void LockSeeds() {
  repo::LockInfo l;
  l.host = "host";
  l.pid = 4242;
  l.time = 1700000000000000000LL;
  l.exclusive = false;
  l.command = "backup";
  l.user = "user";
  Bytes valid = repo::EncodeLock(l);
  Put("fuzz_lock", "valid-shared", valid);
  repo::LockInfo ex = l;
  ex.exclusive = true;
  ex.command = "prune";
  ex.user = "";
  Put("fuzz_lock", "valid-exclusive", repo::EncodeLock(ex));
  json j = json::parse(valid.begin(), valid.end());
  j.erase("command");
  j.erase("user");
  Put("fuzz_lock", "valid-minimal", j.dump());
  j = json::parse(valid.begin(), valid.end());
  j.erase("exclusive");
  Put("fuzz_lock", "miss-no-exclusive", j.dump());
  j = json::parse(valid.begin(), valid.end());
  j["pid"] = "4242";
  Put("fuzz_lock", "miss-pid-string", j.dump());
  j["pid"] = 1e300;
  Put("fuzz_lock", "miss-pid-float", j.dump());
  Put("fuzz_lock", "miss-truncated", Truncated(valid));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  if (!crypto::Init().ok()) return 1;
  g_root = argv[1];
  ConfigSeeds();
  KeyFileSeeds();
  PackSeeds();
  IndexSeeds();
  SnapshotSeeds();
  TreeSeeds();
  LockSeeds();
  return 0;
}
