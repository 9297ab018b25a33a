// The conformance suite every Backend passes (see the contract in backend.h).
// A test binary adds conformance.cc to its sources and instantiates the suite with
// its own factories:
//   INSTANTIATE_TEST_SUITE_P(S3, BackendConformance, ::testing::Values(Factory{...}),
//                            FactoryName);
// The factory gets a fresh empty local scratch directory (removed afterwards); a
// backend that stores elsewhere (S3) should derive a unique prefix from it.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "storage/backend.h"

namespace lb::storage {

struct Factory {
  const char* name;
  std::function<std::unique_ptr<Backend>(const std::string& scratch)> make;
};

class BackendConformance : public ::testing::TestWithParam<Factory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string scratch_;
  std::unique_ptr<Backend> be_;
};

// A fresh directory for a test: under $LB_TEST_SCRATCH when set (ctest sets it to
// /dev/shm for backends whose logic does not depend on the file system, so their
// fsyncs cost nothing), else under /tmp. `prefix` names the test binary.
std::string MakeScratchDir(const std::string& prefix);

inline std::string FactoryName(const ::testing::TestParamInfo<Factory>& info) {
  return info.param.name;
}

}  // namespace lb::storage
