#!/usr/bin/env bash
# Dsl, ONNX Runtime (Dsl's models exported to ONNX) and TorchSharp side by side on this machine, same threads, every
# workload of bench/pytorch/bench.py, as one markdown table (ratios: their time / ours, > 1 means Dsl is faster).
#   bench/torchsharp/run.sh [threads] [--avx2] [--rounds N] [--only TEXT]
# --rounds N runs Dsl and TorchSharp N times each, alternating (Dsl, TorchSharp, Dsl, …), and keeps each workload's fastest
# time (bench/rounds.py): on a shared machine a busy minute then slows both sides' readings, not one side's only (default 1).
# --avx2 narrows both to 256-bit vectors on an AVX-512 machine (Dsl: DOTNET_EnableAVX512=0, which .NET 10 reads, not …AVX512F; LibTorch:
# ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2, ONEDNN_MAX_CPU_ISA=AVX2); ONNX Runtime has no such switch and
# keeps its widest kernels.
# LibTorch 2.10 needs a newer glibc than Debian 12: launch.sh runs the program through with-trixie-libc.sh there (set
# WITH_LIBC to its path; default: /work/shared/tools).
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=$(nproc)
if [[ $# -gt 0 && $1 != --* ]]; then threads=$1; shift; fi
dsl_env=() ts_narrow=()
if [[ ${1:-} == --avx2 ]]; then
  shift
  dsl_env=(DOTNET_EnableAVX512=0)
  ts_narrow=(--avx2) # launch.sh narrows LibTorch
fi
rounds=1
if [[ ${1:-} == --rounds ]]; then rounds=${2:?run.sh: --rounds needs a count}; shift 2; fi
[[ $threads =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: threads ($threads) and --rounds ($rounds) must be whole numbers of 1 or more" >&2; exit 2; }
command -v python3 >/dev/null || { echo "run.sh: needs python3 for the table (apt-get install python3)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# the builds' output kept, and shown when one fails (MSBuild writes its errors to stdout)
for project in bench/torchsharp bench/Dsl.Benchmarks; do
  dotnet build -c Release "$project" -v quiet >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; echo "run.sh: building $project failed" >&2; exit 1; }
done
for ((round = 0; round < rounds; round++)); do
  env "${dsl_env[@]}" dotnet bench/Dsl.Benchmarks/bin/Release/net10.0/Dsl.Benchmarks.dll --json --threads "$threads" "$@" >> "$out/dsl.jsonl"
  bench/torchsharp/launch.sh ${ts_narrow[@]+"${ts_narrow[@]}"} "$threads" --json "$@" >> "$out/ts.jsonl"
done
PYTHONPATH=bench python3 - "$out/dsl.jsonl" "$out/ts.jsonl" "$threads" "$rounds" <<'PY'
import sys
from rounds import read
dsl, ts, threads = read(sys.argv[1])[0], {l["name"]: l for l in read(sys.argv[2])[0]}, int(sys.argv[3])
if int(sys.argv[4]) > 1: print(f"best of {sys.argv[4]} alternating rounds per workload")
peaks = {l["name"]: l["gflops"] for l in dsl if l["name"].startswith("peak fma")}
print(f"FMA peak now: {peaks.get('peak fma 1 thread', 0):.1f} GFLOP/s on 1 thread, "
      f"{next((v for k, v in peaks.items() if k != 'peak fma 1 thread'), 0):.1f} on {threads}")
suffix = ", ONNX Runtime"
ort = {l["name"][:-len(suffix)]: l for l in dsl if l["name"].endswith(suffix)}
print("| workload | Dsl ms | ONNX Runtime ms | TorchSharp ms | ORT / Dsl | TorchSharp / Dsl | Dsl GFLOP/s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for l in dsl:
    name = l["name"]
    if name.startswith("peak") or name.endswith(suffix):
        continue
    o, t = ort.get(name), ts.get(name)
    cell = lambda x: f"{x['ms']:.3f}" if x else "—"
    ratio = lambda x: f"{x['ms'] / l['ms']:.2f}×" if x else "—"
    print(f"| {name} | {l['ms']:.3f} | {cell(o)} | {cell(t)} | {ratio(o)} | {ratio(t)} | {l['gflops']:.1f} |")
PY
