#!/usr/bin/env bash
# Runs the built TorchSharp bench (bench/torchsharp/bin/Release/net10.0/TorchSharpBench) with the given arguments.
# LibTorch 2.10 needs glibc ≥ 2.38: on an older system (Debian 12) the program runs through with-trixie-libc.sh
# (WITH_LIBC, default /work/shared/tools/with-trixie-libc.sh), which fetches Debian 13's libc and libstdc++ into a
# temporary folder and installs nothing. A first argument --avx2 narrows LibTorch to 256-bit vectors on an AVX-512
# machine (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA). Used by bench/torchsharp/run.sh and
# bench/compare.sh.
# LibTorch frees its large buffers at the end of every step and allocates them again in the next; glibc hands blocks that
# large back to the kernel and takes them anew, one page fault per page each time. On a VM where faults are dear (the
# project's, in session 17: 21 % of LibTorch's samples in the kernel's fault path) that made its LSTM training 4-5x
# slower than its compute. GLIBC_TUNABLES keeps the freed blocks in the heap, as a deployment would (or jemalloc), so
# that the table compares the libraries, not the VM's page faults. A GLIBC_TUNABLES already set wins.
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=2147483647}
set -euo pipefail
if [[ ${1:-} == --avx2 ]]; then
  shift
  export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
fi
app="$(cd "$(dirname "$0")" && pwd)/bin/Release/net10.0/TorchSharpBench"
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
glibc=${glibc:-0}
if [[ $(printf '%s\n2.38\n' "$glibc" | sort -V | head -1) == 2.38 ]]; then exec "$app" "$@"; fi
with=${WITH_LIBC:-/work/shared/tools/with-trixie-libc.sh}
if [[ ! -x $with ]]; then
  echo "TorchSharp: LibTorch 2.10 needs glibc >= 2.38 (this system has $glibc) and $with is not there; set WITH_LIBC" >&2
  exit 3
fi
exec "$with" "$app" "$@"
