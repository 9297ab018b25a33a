// Backend wrappers: behaviour stacked around any Backend (assembled in app/).
//
//   RetryingBackend  retries transient failures (kIoError) with exponential
//                    backoff; permanent ones (not found, exists, permission,
//                    no space, invalid name) come back at once.
//   LimitingBackend  lets at most N calls into the wrapped backend at once (a
//                    counting semaphore); further callers wait.
//   MeteredBackend   counts calls per method and bytes moved, readable at any time.
//   CircuitBreaker   after a call fails with a transient error (kIoError, retries
//                    already spent below it), fails every later call at once:
//                    for members of an erasure-coded repository, so a member
//                    that is down costs one round of retries, not one per file.
//   FaultyBackend    injects faults for tests: failing calls, short reads, and
//                    bytes corrupted on a file's first read.
// All are thread-safe when the wrapped backend is.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "storage/backend.h"

namespace lb::storage {

struct RetryPolicy {
  int attempts = 5;  // total tries per call
  std::chrono::milliseconds first_delay{100};
  std::chrono::milliseconds max_delay{5000};
};

std::unique_ptr<Backend> NewRetryingBackend(std::unique_ptr<Backend> inner, RetryPolicy policy = {});

// At most `max_in_flight` (>= 1; 0 is taken as 1) calls run in `inner` at once.
// List holds its slot only while the wrapped listing runs: the names are collected
// first and fn is called after the slot is given back, so fn may call this backend.
std::unique_ptr<Backend> NewLimitingBackend(std::unique_ptr<Backend> inner, unsigned max_in_flight);

// Opens on the first kIoError of any call and stays open for the backend's
// lifetime (one command); later calls return kIoError naming the first failure
// without reaching `inner`. Other errors (not found, exists, corrupt...) pass.
std::unique_ptr<Backend> NewCircuitBreakerBackend(std::unique_ptr<Backend> inner);

// Counters of a MeteredBackend. Every call is counted when it returns, failed or not;
// bytes count only successful transfers. Share one Meter to read it while the
// backend is in use; all members are atomics (lock-free, thread-safe).
struct Meter {
  struct Counts {
    uint64_t creates = 0, saves = 0, loads = 0, sizes = 0, lists = 0, removes = 0;
    uint64_t errors = 0;      // calls that returned an error
    uint64_t bytes_up = 0;    // bytes of successful Saves
    uint64_t bytes_down = 0;  // bytes of successful Loads
    uint64_t calls() const { return creates + saves + loads + sizes + lists + removes; }
  };
  // A consistent-enough copy (each counter is read atomically, not all together).
  Counts Snapshot() const;

  std::atomic<uint64_t> creates{0}, saves{0}, loads{0}, sizes{0}, lists{0}, removes{0};
  std::atomic<uint64_t> errors{0}, bytes_up{0}, bytes_down{0};
};

std::unique_ptr<Backend> NewMeteredBackend(std::unique_ptr<Backend> inner, std::shared_ptr<Meter> meter);

// What FaultyBackend does. Counters are shared so a test can change them while a
// command runs.
struct FaultPlan {
  std::atomic<int> fail_saves{0};       // the next N Save calls fail with kIoError
  std::atomic<int> fail_loads{0};       // the next N Load calls fail with kIoError
  std::atomic<int> fail_lists{0};       // the next N List calls fail part-way
  std::atomic<int> short_reads{0};      // the next N Loads return one byte less
  std::atomic<bool> corrupt_first_read{false};  // flip a byte on each file's first Load
  std::atomic<int> saves{0}, loads{0};  // calls seen
};

std::unique_ptr<Backend> NewFaultyBackend(std::unique_ptr<Backend> inner,
                                          std::shared_ptr<FaultPlan> plan);

}  // namespace lb::storage
