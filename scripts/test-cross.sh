#!/usr/bin/env bash
# Arm cross builds under qemu-user (npm run test:cross). Builds the C runtime, its
# unit tests and the plan runner with the Debian cross compilers, then on each
# emulated CPU runs every unit test (the kernel checks included) and every golden
# plan with the reference kernels and with each Arm family that CPU has:
#   aarch64 -cpu max         Armv8.x with the dot product: ref, neon, neondot; auto = neondot
#   aarch64 -cpu cortex-a72  Raspberry Pi 4, no dot product: ref, neon; auto = neon
#   armv7   -cpu cortex-a15  32-bit Raspberry Pi OS class, NEON: ref, neon; auto = neon
#                            (built twice: with -mfpu=neon, and for plain VFP, where
#                            only kernels/neon is compiled for NEON, by pragma)
# Each CPU also runs the plans of 4,000 mutated models (those the TypeScript side
# compiles) on every family it has: refused or run, the same way on every family.
# One aarch64 binary serves both aarch64 CPUs: the dot-product code is compiled per
# file, and HWCAP decides at run time. -O2 without sanitizers keeps qemu quick.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc qemu-aarch64 qemu-arm; do
  if ! command -v "$tool" >/dev/null; then
    echo "test:cross needs $tool (Debian: gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user)" >&2
    exit 1
  fi
done

jobs=$(nproc 2>/dev/null || echo 2)
# the kernel sweep's cases per kernel: more than natively, as the Arm kernels are
# checked only here
export QIE_SWEEP_ROUNDS=${QIE_SWEEP_ROUNDS:-1000}
plans=cbuild/plans/cases.txt

echo "== TypeScript build and golden plans"
npm run -s build
node dist/test/tools/dump-plans.js cbuild/plans
node dist/test/tools/fuzz-child.js dump 20261209 0 4000 cbuild/plans/mutated-cross.bin

build() { # name compiler extra-cflags
  echo "== build $1 ($2)"
  mkdir -p "cbuild/$1"
  if ! make -s -C csrc -j"$jobs" all OUT="../cbuild/$1" CC="$2" CFLAGS="-O2 -g $3" >"cbuild/$1/build.log" 2>&1; then
    cat "cbuild/$1/build.log"
    echo "FAIL build $1"
    exit 1
  fi
  grep -v '^  [CL][CD] ' "cbuild/$1/build.log" || true
}
build aarch64 aarch64-linux-gnu-gcc ""
build armv7 arm-linux-gnueabihf-gcc "-mfpu=neon -mfloat-abi=hard"
build armv7-vfp arm-linux-gnueabihf-gcc "-mfloat-abi=hard"

failed=0
run_cpu() { # label out-dir expected-auto qemu-command... ; families from $families
  local label=$1 out=$2 expect=$3
  shift 3
  echo "== $label: C unit tests"
  for src in csrc/test/test_*.c; do # the tests of this tree, not stale binaries
    t=cbuild/$out/test/$(basename "$src" .c)
    if ! QIE_EXPECT_AUTO="$expect" "$@" "$t" >"cbuild/$out/last-test.log" 2>&1; then
      cat "cbuild/$out/last-test.log"
      echo "FAIL $label: $(basename "$t")"
      failed=1
    else
      grep -E 'checks|NOTICE|selects|HWCAP|sweep' "cbuild/$out/last-test.log" || true
    fi
  done
  for fam in $families; do
    echo "== $label: goldens with QIE_KERNELS=$fam"
    if ! QIE_KERNELS=$fam "$@" "cbuild/$out/qie-run-plan" --check "$plans" >"cbuild/$out/last-plans.log" 2>&1; then
      grep -v '^ok ' "cbuild/$out/last-plans.log"
      echo "FAIL $label: goldens with $fam"
      failed=1
    else
      tail -n 1 "cbuild/$out/last-plans.log"
    fi
  done
  echo "== $label: mutated models on every family"
  if ! "$@" "cbuild/$out/qie-run-plan" --plans cbuild/plans/mutated-cross.bin >"cbuild/$out/last-mutated.log" 2>&1; then
    tail -n 20 "cbuild/$out/last-mutated.log"
    echo "FAIL $label: mutated models"
    failed=1
  else
    tail -n 1 "cbuild/$out/last-mutated.log"
  fi
}

families="ref neon neondot auto" \
  run_cpu "aarch64 -cpu max" aarch64 neondot qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max
families="ref neon auto" \
  run_cpu "aarch64 -cpu cortex-a72" aarch64 neon qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a72
families="ref neon auto" \
  run_cpu "armv7 -cpu cortex-a15" armv7 neon qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a15
families="neon auto" \
  run_cpu "armv7 VFP build -cpu cortex-a15" armv7-vfp neon qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a15

if [ "$failed" != 0 ]; then
  echo "test:cross: FAILED"
  exit 1
fi
echo "test:cross: all passed"
