// Bulk writes and reads that bypass the page cache (O_DIRECT) where the file
// system allows it.
//
// Why: a backup writes its packs and a restore its files once and does not read
// them again soon. Through the page cache every 4 KiB of them costs a freshly
// allocated page: on this project's VMs (guest pages given back to the host
// while free) about 2 s of CPU per GiB written, and on any machine it evicts the
// user's cache. Direct writes go from an already used buffer to the device.
//
// Only the 4 KiB-aligned middle of a write goes direct; its unaligned head and
// tail go through the ordinary descriptor (a page each), so no page is written
// both ways and callers need no alignment. File systems without O_DIRECT (tmpfs
// before Linux 6.6, some FUSE file systems) get ordinary I/O throughout. On a
// network file system a direct write is a synchronous round trip.
//
// Thread safety: the functions may be called concurrently (each thread has its
// own aligned staging buffer, 1 MiB, allocated on first use and kept: 4 MiB
// buffers on three writing threads showed up in a backup's peak RSS).
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/scratch.h"
#include "base/status.h"

namespace lb {

// Reads and writes of at least this many bytes are worth a second descriptor.
constexpr size_t kDirectMin = 256u << 10;

// Where `size` bytes that go to a file at `offset` should lie in `buf`: as far
// past a 4 KiB boundary as `offset` is, so that WriteAtDirect sends their
// aligned middle to the device straight from memory, without staging. Null when
// the memory cannot be allocated; valid until `buf` grows.
uint8_t* AlignedFor(Scratch& buf, size_t size, uint64_t offset);

// A second descriptor for the file open as `fd`, with O_DIRECT and `access`
// (O_RDONLY or O_WRONLY), opened through /proc/self/fd, so it is the same inode
// whatever its name is now; -1 when the file system, /proc or the permissions do
// not allow it. The caller closes it.
int ReopenDirect(int fd, int access);

// Writes all of `data` at `offset`: the 4 KiB-aligned middle through
// `direct_fd` (when >= 0; from `data` itself when that part of it is aligned in
// memory, see AlignedFor, else staged through the thread's buffer), the rest
// through `fd`. A direct write the file
// system refuses (EINVAL) is done through `fd` instead. Errors name `what`.
Status WriteAtDirect(int fd, int direct_fd, uint64_t offset, ByteSpan data, const std::string& what);

// As WriteAtDirect, but the aligned middle goes through `fd` itself, switched to
// O_DIRECT (fcntl F_SETFL) and back: no second descriptor to open, which costs
// a path lookup through /proc. Only for a descriptor that no other thread uses
// meanwhile and that has no status flags (O_APPEND, O_NONBLOCK... are cleared).
// Written through the cache when the file system refuses O_DIRECT.
Status WriteAtDirectSwitched(int fd, uint64_t offset, ByteSpan data, const std::string& what);

// Reads into `out` from `offset` until it is full or the file ends; returns the
// count. Through `direct_fd` (when >= 0), in aligned pieces staged through the
// thread's buffer; through `fd` when the file system refuses (EINVAL).
Result<size_t> ReadAtDirect(int fd, int direct_fd, uint64_t offset, std::span<uint8_t> out,
                            const std::string& what);

// How many 4 KiB pages of the file's first `size` bytes are in the page cache
// (mmap + mincore; the file is not read). For tests and diagnostics.
Result<size_t> CachedPages(int fd, uint64_t size);

}  // namespace lb
