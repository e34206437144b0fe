#!/usr/bin/env bash
# The Arm64 check: publishes tests/arm64 (the GEMM and cell kernels against the reference) self-contained for
# linux-arm64 and runs it under qemu, with 128-bit AdvSimd vectors (the v128-8x12 micro-kernel) and with intrinsics
# off (scalar-4x4). Needs: apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
dotnet publish KernelCheck.csproj -c Release -r linux-arm64 --self-contained -o "$out" -v quiet
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_TieredCompilation=0
run() { local expect=$1; shift; env "$@" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$out/KernelCheck" "$expect"; }
run v128-8x12
run scalar-4x4 DOTNET_EnableHWIntrinsic=0
rm -rf "$out"
