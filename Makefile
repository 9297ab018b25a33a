# The two commands a user needs: `make demo` and `make test`. Both install missing
# Debian packages first (scripts/setup), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all setup build build-asan build-asan-unit demo test unit e2e clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

ASAN_CONFIGURE = cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null

build-asan: setup
	@$(ASAN_CONFIGURE)
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Only the unit test binaries under the sanitizers (what `make test` runs there).
build-asan-unit: setup
	@$(ASAN_CONFIGURE)
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target lb_unit_tests

# Back up a real folder into a fresh local repository, restore it, prove it identical.
demo: build
	@scripts/demo $(BUILD)/lifeboat

# Every test: unit tests under ASan+UBSan, then unit and end-to-end tests on the
# release build.
test: build build-asan-unit
	@echo "== unit tests (ASan + UBSan) =="
	@cd $(ASAN_BUILD) && ctest -L unit --output-on-failure -j $(JOBS)
	@echo "== unit and end-to-end tests (release build) =="
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz-smoke

# libFuzzer targets for the repository file parsers (fuzz/; clang + libFuzzer).
# fuzz-smoke: every target FUZZ_SMOKE_SECONDS on a temporary copy of its corpus, fails
# on any finding. fuzz: every target FUZZ_SECONDS, new inputs merged into fuzz/corpus/.
FUZZ_BUILD         ?= build-fuzz
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SECONDS       ?= 300

.PHONY: build-fuzz fuzz-smoke fuzz

build-fuzz: setup
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DLB_FUZZ=ON -DLB_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target lb_fuzzers

fuzz-smoke: build-fuzz
	@echo "== fuzz smoke ($(FUZZ_SMOKE_SECONDS) s per target) =="
	@fuzz/run.sh smoke $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(JOBS)

fuzz: build-fuzz
	@fuzz/run.sh long $(FUZZ_BUILD) $(FUZZ_SECONDS) $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# Benchmarks (docs/performance.md): the microbenchmarks in bench/ (BENCH_MICRO=0 skips
# them), then lifeboat against restic and borg on the same data (scripts/bench; REPS,
# BENCH_CORPUS, BENCH_CASES, BENCH_SMALL_FILES, BENCH_LARGE_GB, BENCH_DIR, ... come from
# the environment or the make command line). scripts/setup-bench installs the peers.
BENCH_MICRO ?= 1

.PHONY: bench

bench: setup
	@scripts/setup-bench
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DLB_BUILD_BENCH=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@if [ "$(BENCH_MICRO)" != 0 ]; then \
	  echo "== microbenchmarks (bench/; BENCH_MICRO=0 skips) =="; \
	  $(BUILD)/bench/lb_micro_bench; fi
	@echo "== lifeboat vs restic vs borg (scripts/bench) =="
	@scripts/bench $(BUILD)/lifeboat
