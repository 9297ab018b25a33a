#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make build-fuzz`.
#
#   fuzz/run.sh smoke BUILD_DIR SECONDS [JOBS]   each target for SECONDS on a temporary
#                                                copy of its corpus, from a fixed seed
#                                                (FUZZ_SEED, default 1); fails on any finding
#   fuzz/run.sh long  BUILD_DIR SECONDS [JOBS]   each target for SECONDS, then merges the
#                                                new interesting inputs into fuzz/corpus/<target>
#
# JOBS targets run at a time (default: number of CPUs). Crash inputs are saved as
# BUILD_DIR/fuzz-artifacts/<target>-crash-<sha1>; reproduce with
# BUILD_DIR/fuzz/<target> <that file>.
set -uo pipefail

mode=${1:?usage: run.sh smoke|long BUILD_DIR SECONDS [JOBS]}
build=${2:?build dir}
secs=${3:?seconds}
jobs=${4:-$(nproc)}
case $mode in smoke | long) ;; *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(fuzz_config fuzz_keyfile fuzz_pack_header fuzz_index fuzz_snapshot fuzz_tree fuzz_lock)
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

for t in "${targets[@]}"; do
  if [ ! -x "$build/fuzz/$t" ]; then
    echo "run.sh: $build/fuzz/$t is missing (run make build-fuzz)" >&2
    exit 2
  fi
done

# Runs one target; its output goes to $work/$t.log, its exit status to $work/$t.rc.
run_one() {
  local t=$1 corpus="$root/fuzz/corpus/$1" new="$work/$1.new" rc
  mkdir -p "$new" "$corpus"
  local dirs=("$new" "$corpus")
  if [ "$mode" = smoke ]; then
    cp -r "$corpus/." "$new/"  # the run may add files: never to the checked-in corpus
    dirs=("$new")
  fi
  local dict=() seed=()
  [ -f "$root/fuzz/dicts/$t.dict" ] && dict=(-dict="$root/fuzz/dicts/$t.dict")
  # The smoke run (part of make test) takes the same path every time, so a test run
  # passes or fails on the code, not on luck; long runs explore from random seeds.
  [ "$mode" = smoke ] && seed=(-seed="${FUZZ_SEED:-1}")
  "$build/fuzz/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t-" "${seed[@]}" "${dict[@]}" "${dirs[@]}" >"$work/$t.log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && [ "$mode" = long ]; then
    "$build/fuzz/$t" -merge=1 "$corpus" "$new" >>"$work/$t.log" 2>&1 || rc=$?
  fi
  echo $rc >"$work/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait

failed=0
for t in "${targets[@]}"; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    printf '%-18s ok      %8s runs in %ss\n' "$t" "${runs:-?}" "$secs"
  else
    failed=1
    printf '%-18s FAILED  (exit %s); log follows\n' "$t" "$rc"
    grep -v '^#[0-9]' "$work/$t.log" | tail -60
  fi
done
if [ $failed -ne 0 ]; then
  echo "fuzz: a target found a crash; inputs are in $artifacts/" >&2
  exit 1
fi
if [ "$mode" = long ]; then
  du -sh "$root"/fuzz/corpus/* 2>/dev/null
fi
