#!/usr/bin/env bash
# The GPU check (issue 12), in two halves, because a GPU machine here has no .NET and no network:
#   bench/gpu/check.sh pack          here: publishes bench/gpu (DeviceCheck) self-contained for linux-x64 and packs it
#                                    into .gpu/devicecheck.tar.xz (git-ignored; carry .gpu to the GPU machine)
#   bench/gpu/check.sh run [args]    there: unpacks and runs it on CUDA (--cpu: ILGPU's CPU accelerator), one process per part,
#                                    each under a time limit (a CUDA fault poisons its process; the other parts still run):
#                                    every model kind's agreement with the host path on the GPU, the char training step and
#                                    the LSTM (128, 64, 512, 512) forward+backward on the GPU against the host path of the
#                                    same machine, and the ILGPU GEMM (and cuBLAS) at 2048³, results checked. Under 5
#                                    minutes; the output also goes to $OUT/devicecheck.txt when $OUT is set.
#   bench/gpu/check.sh smoke         here: pack, then run on ILGPU's CPU accelerator with small sizes (--cpu --smoke):
#                                    how the script is tried before a GPU machine's time is spent on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# the publish's output and the unpacked check, each in a folder of its own (two runs at once do not collide), removed on
# exit, a failed publish's too (set -e)
out='' dir=''
trap 'rm -rf ${out:+"$out"} ${dir:+"$dir"}' EXIT
pack() {
    out=$(mktemp -d)
    dotnet publish "$root/bench/gpu/DeviceCheck.csproj" -c Release -r linux-x64 --self-contained -o "$out/devicecheck" -v quiet -nologo
    mkdir -p "$root/.gpu"
    tar -C "$out" -cJf "$root/.gpu/devicecheck.tar.xz" devicecheck
    ls -l "$root/.gpu/devicecheck.tar.xz"
}
# Where the loader would not find them, links to the libraries ILGPU asks for by name: the driver as libcuda.so (a
# container may hold only libcuda.so.1) and cuBLAS as libcublas.so.12 (ILGPU.Algorithms 1.5.3 asks for 12, 11 or 10; a
# CUDA 13 machine has libcublas.so.13, whose cublas*_v2 functions are the same; the products check their result at start
# and fall back to the tiled kernel on any failure). Each link made is printed.
libraries() {
    local lib="$dir/lib" found cache
    mkdir -p "$lib"
    # the loader's list read once (a pipe from ldconfig into a reader that stops early could fail the script under pipefail)
    cache=$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)
    if ! grep -q 'libcuda\.so ' <<<"$cache"; then
        found=$(awk '/libcuda\.so\.1 /{print $NF; exit}' <<<"$cache")
        if [ -z "$found" ]; then found=$(find /usr/local/nvidia /usr/lib /usr/lib64 /usr/local -name 'libcuda.so.1' 2>/dev/null | grep -v stubs | head -1 || true); fi
        if [ -n "$found" ]; then ln -s "$found" "$lib/libcuda.so"; echo "linked libcuda.so -> $found"; fi
    fi
    if ! grep -q 'libcublas\.so\.1[0-2] ' <<<"$cache"; then
        found=$(find /usr/local /usr/lib /opt -name 'libcublas.so.12' 2>/dev/null | head -1 || true)
        if [ -z "$found" ]; then
            found=$(find /usr/local /usr/lib /opt -name 'libcublas.so.13' 2>/dev/null | head -1 || true)
            if [ -n "$found" ]; then ln -s "$found" "$lib/libcublas.so.12"; echo "linked libcublas.so.12 -> $found"; fi
        fi
        if [ -n "$found" ]; then export LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
    fi
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}
run() {
    dir=$(mktemp -d)
    if command -v xz > /dev/null; then tar -C "$dir" -xJf "$root/.gpu/devicecheck.tar.xz"
    else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$root/.gpu/devicecheck.tar.xz" "$dir"; fi
    libraries
    export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
    local log=/dev/null status=0 part limit device=--cuda
    if [ -n "${OUT:-}" ]; then log="$OUT/devicecheck.txt"; : > "$log"; fi
    case " $* " in *" --cpu "*|*" --cuda "*) device='' ;; esac
    for part in agreement timings gemm; do
        case $part in agreement) limit=120 ;; timings) limit=150 ;; gemm) limit=60 ;; esac
        # (the exit status of the check itself, not of tee; a part past its limit is killed and reported)
        set +e
        timeout -k 5 "$limit" "$dir/devicecheck/DeviceCheck" --part "$part" $device "$@" > >(tee -a "$log") 2>&1
        local code=$?
        set -e
        if [ "$code" -eq 124 ]; then echo "[$part] TIMED OUT after $limit s" | tee -a "$log"; fi
        if [ "$code" -ne 0 ]; then status=1; fi
    done
    echo "check: $([ "$status" -eq 0 ] && echo 'every part passed' || echo 'FAILED (see above)')" | tee -a "$log"
    return "$status"
}
case "${1:-}" in
    pack) pack ;;
    run) shift; run "$@" ;;
    smoke) pack; run --cpu --smoke ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
esac
