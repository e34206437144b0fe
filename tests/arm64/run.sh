#!/usr/bin/env bash
# The Arm64 check: publishes tests/arm64 (the GEMM and cell kernels against the reference, then the 47 parity models'
# outputs, losses and gradients against their PyTorch fixtures) self-contained for linux-arm64 and runs it under qemu, with 128-bit AdvSimd vectors (the v128-8x12 micro-kernel) and with intrinsics
# off (scalar-4x4). Needs qemu-user-static, libc6-arm64-cross and libstdc++6-arm64-cross: installs them with apt when
# they are missing (as .ci/run runs it, as root). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
fail() { echo "arm64 check: FAILED ($*)"; exit 1; }
if ! command -v qemu-aarch64-static >/dev/null 2>&1 || [ ! -d /usr/aarch64-linux-gnu/lib ] || ! dpkg -s libstdc++6-arm64-cross >/dev/null 2>&1; then
    echo "== installing qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross; } >/dev/null 2>&1 \
        || fail "could not install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross with apt"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish KernelCheck.csproj -c Release -r linux-arm64 --self-contained -o "$out" -v quiet || fail "the linux-arm64 publish failed"
# Without background GC (DOTNET_gcConcurrent=0): with it, the scalar run crashed under qemu-user in about one run of four with
# the heap corrupted (a pinned array handed out twice: "Parameters 'dense_1.bias' and 'dense_3.bias' are the same tensor", or
# a NullReferenceException; 4 of 10 runs at aaa9db7, 1 of 6 at 16e71ea), and in none of 10 without it; the same C# on the same
# scalar path never has natively on x64 (CI's DOTNET_EnableHWIntrinsic=0 rerun; gen0 forced to 128 KB too).
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_TieredCompilation=0 DOTNET_gcConcurrent=0
# A run whose checks fail (a "FAIL" line) fails the check. A run that crashes without one is run once more, both printed; a
# second crash fails the check.
run() {
    local expect=$1 log; shift
    log=$(mktemp)
    if env "$@" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$out/KernelCheck" "$expect" > "$log" 2>&1; then cat "$log"; rm -f "$log"; return; fi
    cat "$log"
    if grep -q '^FAIL ' "$log"; then rm -f "$log"; fail "$expect"; fi
    rm -f "$log"
    echo "arm64 check: $expect crashed under qemu without a failed check (above); running it once more"
    env "$@" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$out/KernelCheck" "$expect" || fail "$expect (crashed or failed on the second run too)"
}
run v128-8x12
run scalar-4x4 DOTNET_EnableHWIntrinsic=0
echo "arm64 check: passed (v128-8x12 and scalar-4x4 under qemu)"
