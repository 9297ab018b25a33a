// Microbenchmarks of the per-chunk work of a backup: FastCDC chunking, the keyed
// blob id (HMAC-SHA256), zstd level 3 and AES-256-GCM sealing. Each lifeboat call
// sits next to the raw library call it wraps (SHA-256, HMAC, EVP AES-GCM, libzstd),
// so overhead in our wrapper shows up as a gap between the two rows.
//
//   build/bench/lb_micro_bench                       # everything
//   build/bench/lb_micro_bench --benchmark_filter=Seal
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "base/bytes.h"
#include "chunker/chunker.h"
#include "crypto/crypto.h"

namespace {

using lb::Bytes;
using lb::ByteSpan;

constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kChunk = 1 * kMiB;        // average chunk size of a repository
constexpr size_t kStream = 64 * kMiB;      // chunker input

Bytes RandomBytes(size_t n, uint64_t seed) {
  Bytes b(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(b.data() + i, &v, 8);
  }
  return b;
}

// Semi-compressible data (zstd -3 gets roughly 2-3x): words from a small
// vocabulary with random numbers in between, and now and then a repeat of an
// earlier stretch, like source code, logs or text.
Bytes SemiCompressible(size_t n, uint64_t seed) {
  static const char* kWords[] = {"the ",    "backup ", "chunk ",  "repository ", "int ",
                                 "return ", "{\n",     "}\n",     "snapshot ",   "error ",
                                 "value ",  "for ",    "while ",  "const ",      "data ",
                                 "size_t ", "= ",      "; ",      "(",           ") "};
  std::mt19937_64 rng(seed);
  Bytes b;
  b.reserve(n);
  while (b.size() < n) {
    uint64_t r = rng();
    switch (r % 8) {
      case 0:
      case 1:
      case 2: {  // random digits and letters (about 5 bits of entropy per byte)
        for (int i = 0; i < 16; ++i)
          b.push_back(static_cast<uint8_t>("0123456789abcdefghijklmnopqrstuvwxyz"[rng() % 36]));
        break;
      }
      case 3: {  // a repeat of an earlier stretch
        if (b.size() > 4096) {
          size_t len = 16 + (r >> 8) % 64;
          size_t from = b.size() - 1 - (r >> 20) % 4000 - len;
          for (size_t i = 0; i < len; ++i) b.push_back(b[from + i]);
        }
        break;
      }
      default: {
        const char* w = kWords[(r >> 8) % (sizeof kWords / sizeof kWords[0])];
        b.insert(b.end(), w, w + std::strlen(w));
      }
    }
  }
  b.resize(n);
  return b;
}

const lb::crypto::Key& TestKey() {
  static const lb::crypto::Key k = [] {
    lb::crypto::Key key;
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
    return key;
  }();
  return k;
}

// ---- chunking -------------------------------------------------------------------

// lifeboat's FastCDC over a 64 MiB random stream with the repository's default
// parameters (512 KiB / 1 MiB / 8 MiB).
void BM_FastCdc_Chunker(benchmark::State& state) {
  static const Bytes data = RandomBytes(kStream, 1);
  lb::chunker::Chunker chunker(lb::chunker::Params{}, 0x1234567890abcdefULL);
  size_t chunks = 0;
  for (auto _ : state) {
    size_t off = 0;
    while (off < data.size()) {
      size_t n = chunker.Next(ByteSpan(data.data() + off, data.size() - off), true);
      off += n;
      ++chunks;
    }
    benchmark::DoNotOptimize(off);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["chunks_per_stream"] =
      static_cast<double>(chunks) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_FastCdc_Chunker)->Unit(benchmark::kMillisecond);

// Baseline: one pass over the same bytes that cannot be skipped (a 64-bit xor
// fold), the memory-bandwidth ceiling of any chunker.
void BM_Baseline_ReadPass(benchmark::State& state) {
  static const Bytes data = RandomBytes(kStream, 1);
  for (auto _ : state) {
    uint64_t acc = 0;
    for (size_t i = 0; i + 8 <= data.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, data.data() + i, 8);
      acc ^= v;
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Baseline_ReadPass)->Unit(benchmark::kMillisecond);

// ---- blob id ----------------------------------------------------------------------

// lb::crypto::HmacSha256 of a 1 MiB chunk: the blob id of every chunk. At 4 KiB
// (most files of the corpus are smaller), the per-call cost shows against the
// one-shot HMAC() below.
void BM_Lifeboat_HmacSha256(benchmark::State& state) {
  const Bytes data = RandomBytes(static_cast<size_t>(state.range(0)), 2);
  for (auto _ : state) benchmark::DoNotOptimize(lb::crypto::HmacSha256(TestKey(), data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Lifeboat_HmacSha256)->Arg(kChunk)->Arg(4096);

// Baseline: OpenSSL's one-shot HMAC() directly.
void BM_OpenSsl_Hmac(benchmark::State& state) {
  const Bytes data = RandomBytes(static_cast<size_t>(state.range(0)), 2);
  uint8_t out[32];
  unsigned int len = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), TestKey().data(), 32, data.data(), data.size(), out, &len);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_OpenSsl_Hmac)->Arg(kChunk)->Arg(4096);

// Baseline: plain SHA-256 (OpenSSL SHA256()); HMAC should cost the same per byte.
void BM_OpenSsl_Sha256(benchmark::State& state) {
  static const Bytes data = RandomBytes(kChunk, 2);
  uint8_t out[32];
  for (auto _ : state) {
    SHA256(data.data(), data.size(), out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_OpenSsl_Sha256);

// ---- compression ------------------------------------------------------------------

// zstd level 3 of 1 MiB semi-compressible chunks with a reused context. This is the
// exact call of lifeboat's write path (src/repo/repository.cc Compress():
// thread_local ZSTD_CCtx + ZSTD_compressCCtx at the write option's level, default 3),
// so it doubles as the baseline.
void BM_Zstd_Compress(benchmark::State& state) {
  static const Bytes data = SemiCompressible(kChunk, 3);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  Bytes out(ZSTD_compressBound(data.size()));
  size_t n = 0;
  for (auto _ : state) {
    n = ZSTD_compressCCtx(cctx, out.data(), out.size(), data.data(), data.size(),
                          static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(out.data());
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(n);
}
BENCHMARK(BM_Zstd_Compress)->Arg(3)->ArgName("level");
BENCHMARK(BM_Zstd_Compress)->Arg(1)->ArgName("level");

// zstd on incompressible (random) 1 MiB chunks: what lifeboat pays before it keeps the
// raw bytes (it stores compressed only when that saves at least 1/32).
void BM_Zstd_Compress_Random(benchmark::State& state) {
  static const Bytes data = RandomBytes(kChunk, 4);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  Bytes out(ZSTD_compressBound(data.size()));
  for (auto _ : state) {
    size_t n = ZSTD_compressCCtx(cctx, out.data(), out.size(), data.data(), data.size(), 3);
    benchmark::DoNotOptimize(n);
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Zstd_Compress_Random);

// Decompression of the same chunk (the restore path: ZSTD_decompressDCtx).
void BM_Zstd_Decompress(benchmark::State& state) {
  static const Bytes data = SemiCompressible(kChunk, 3);
  Bytes comp(ZSTD_compressBound(data.size()));
  comp.resize(ZSTD_compress(comp.data(), comp.size(), data.data(), data.size(), 3));
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Bytes out(data.size());
  for (auto _ : state) {
    size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), comp.data(), comp.size());
    benchmark::DoNotOptimize(n);
  }
  ZSTD_freeDCtx(dctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Zstd_Decompress);

// ---- encryption -------------------------------------------------------------------

// lb::crypto::Seal of 1 MiB (random nonce, a fresh EVP context, a new output buffer).
void BM_Lifeboat_Seal(benchmark::State& state) {
  static const Bytes data = RandomBytes(kChunk, 5);
  const Bytes ad(33, 0x5a);  // blob id + kind, as the pack writer passes
  for (auto _ : state) benchmark::DoNotOptimize(lb::crypto::Seal(TestKey(), data, ad));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Lifeboat_Seal);

// lb::crypto::SealAppend into a reused buffer (the pack writer's call).
void BM_Lifeboat_SealAppend(benchmark::State& state) {
  static const Bytes data = RandomBytes(kChunk, 5);
  const Bytes ad(33, 0x5a);
  Bytes out;
  out.reserve(data.size() + lb::crypto::kAeadOverhead);
  for (auto _ : state) {
    out.clear();
    lb::crypto::SealAppend(TestKey(), data, ad, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Lifeboat_SealAppend);

// Baseline: OpenSSL EVP AES-256-GCM with one reused context and a preallocated
// output (the least a Seal can cost).
void BM_OpenSsl_AesGcm(benchmark::State& state) {
  static const Bytes data = RandomBytes(kChunk, 5);
  const Bytes ad(33, 0x5a);
  Bytes out(data.size() + 16);
  uint8_t nonce[12] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  uint64_t counter = 0;
  for (auto _ : state) {
    std::memcpy(nonce, &++counter, sizeof counter);
    int len = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, TestKey().data(), nonce);
    EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size()));
    EVP_EncryptUpdate(ctx, out.data(), &len, data.data(), static_cast<int>(data.size()));
    EVP_EncryptFinal_ex(ctx, out.data() + data.size(), &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + data.size());
    benchmark::DoNotOptimize(out.data());
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_OpenSsl_AesGcm);

// lb::crypto::Open of 1 MiB and of 4 KiB (the restore path), for comparison with Seal.
void BM_Lifeboat_Open(benchmark::State& state) {
  const Bytes data = RandomBytes(static_cast<size_t>(state.range(0)), 5);
  const Bytes ad(33, 0x5a);
  const Bytes sealed = lb::crypto::Seal(TestKey(), data, ad);
  for (auto _ : state) {
    auto r = lb::crypto::Open(TestKey(), sealed, ad);
    if (!r.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Lifeboat_Open)->Arg(kChunk)->Arg(4096);

// ---- all stages of one core -------------------------------------------------------

// The per-chunk work of a backup on one thread, over 64 MiB of semi-compressible data:
// FastCDC, HMAC-SHA256 id, zstd -3, AES-256-GCM. Its throughput is the per-core
// ceiling of `lifeboat backup` on new data (without I/O, packing and the walk).
void BM_Pipeline_OneCore(benchmark::State& state) {
  static const Bytes data = SemiCompressible(kStream, 6);
  lb::chunker::Chunker chunker(lb::chunker::Params{}, 42);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  Bytes comp(ZSTD_compressBound(8 * kMiB));
  Bytes sealed;
  const Bytes ad(33, 0x5a);
  for (auto _ : state) {
    size_t off = 0;
    while (off < data.size()) {
      ByteSpan rest(data.data() + off, data.size() - off);
      size_t n = chunker.Next(rest, true);
      ByteSpan chunk = rest.first(n);
      benchmark::DoNotOptimize(lb::crypto::HmacSha256(TestKey(), chunk));
      size_t c = ZSTD_compressCCtx(cctx, comp.data(), comp.size(), chunk.data(), chunk.size(), 3);
      sealed.clear();
      lb::crypto::SealAppend(TestKey(), ByteSpan(comp.data(), c), ad, sealed);
      benchmark::DoNotOptimize(sealed.data());
      off += n;
    }
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Pipeline_OneCore)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (!lb::crypto::Init().ok()) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
