// Backend wrappers: behaviour stacked around any Backend (assembled in app/).
//
//   RetryingBackend  retries transient failures (kIoError) with exponential
//                    backoff; permanent ones (not found, exists, permission,
//                    no space, invalid name) come back at once.
//   FaultyBackend    injects faults for tests: failing calls, short reads, and
//                    bytes corrupted on a file's first read.
// Both are thread-safe when the wrapped backend is.
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
