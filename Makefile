# The two commands a user needs: `make demo` and `make test`. Both install missing
# Debian packages first (scripts/setup), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all setup build build-asan demo test unit e2e clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLB_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# Back up a real folder into a fresh local repository, restore it, prove it identical.
demo: build
	@scripts/demo $(BUILD)/lifeboat

# Every test: unit tests under ASan+UBSan, then unit and end-to-end tests on the
# release build.
test: build build-asan
	@echo "== unit tests (ASan + UBSan) =="
	@cd $(ASAN_BUILD) && ctest -L unit --output-on-failure -j $(JOBS)
	@echo "== unit and end-to-end tests (release build) =="
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
