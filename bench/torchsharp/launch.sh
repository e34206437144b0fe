#!/usr/bin/env bash
# Runs the built TorchSharp bench (bench/torchsharp/bin/Release/net10.0/TorchSharpBench) with the given arguments.
# LibTorch 2.10 needs glibc ≥ 2.38: on an older system (Debian 12) the program runs through with-trixie-libc.sh
# (WITH_LIBC, default /work/shared/tools/with-trixie-libc.sh), which fetches Debian 13's libc and libstdc++ into a
# temporary folder and installs nothing. Used by bench/torchsharp/run.sh and bench/compare.sh.
set -euo pipefail
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
