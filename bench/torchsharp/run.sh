#!/usr/bin/env bash
# TorchSharp side by side with Dsl on this machine, same threads. LibTorch 2.10 needs a newer glibc than Debian 12:
# the program runs through with-trixie-libc.sh (set WITH_LIBC to its path; default: ../shared/tools next to the clone).
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-$(nproc)}
with=${WITH_LIBC:-/work/shared/tools/with-trixie-libc.sh}
dotnet build -c Release bench/torchsharp -v quiet >/dev/null
dotnet build -c Release bench/Dsl.Benchmarks -v quiet >/dev/null
echo "== Dsl"
dotnet bench/Dsl.Benchmarks/bin/Release/net10.0/Dsl.Benchmarks.dll --threads "$threads" --gemm | grep -v "peak fma [0-9]*-bit"
dotnet bench/Dsl.Benchmarks/bin/Release/net10.0/Dsl.Benchmarks.dll --threads "$threads" --only "T=64 B=" | grep -E "^(lstm|gru) "
echo "== TorchSharp"
"$with" bench/torchsharp/bin/Release/net10.0/TorchSharpBench "$threads"
