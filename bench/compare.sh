#!/usr/bin/env bash
# Runs the same configurations in Dsl, PyTorch, TorchSharp and ONNX Runtime (Dsl's models exported to ONNX) on this
# machine, with the same threads, and prints one table: times, the ratios (their time / Dsl's: > 1 means Dsl is
# faster), Dsl's GFLOP/s and the fraction of the FMA peak measured in the same run, and the vector width each ran at.
# Usage, from a clean clone:
#   dotnet build -c Release && bench/compare.sh [threads] [--avx2] [--rounds N] [--no-torchsharp] [--only TEXT]
# --avx2 narrows every side to 256-bit vectors on an AVX-512 machine (an AVX2 machine's like-for-like): Dsl with
# DOTNET_EnableAVX512=0 (which .NET 10 reads), PyTorch with ATEN_CPU_CAPABILITY=avx2 and OPENBLAS_CORETYPE=Haswell,
# TorchSharp with ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2, ONEDNN_MAX_CPU_ISA=AVX2; ONNX Runtime has no
# such switch and keeps its widest kernels. --only runs, on every side, the workloads whose name contains TEXT.
# --rounds N runs the sides N times, alternating (Dsl, PyTorch, TorchSharp, Dsl, …), and keeps each workload's fastest
# reading on each side (bench/rounds.py): a busy minute on a shared machine then slows one round, not one side (default 1).
# PyTorch at its best needs Debian's python3-torch with OpenBLAS (apt-get install python3-torch libopenblas0-pthread);
# its side prints which BLAS it loaded. TorchSharp (bench/torchsharp: TorchSharp-cpu from NuGet, LibTorch 2.10) runs
# through bench/torchsharp/launch.sh (glibc >= 2.38, or Debian 13's libc fetched by with-trixie-libc.sh); its first build
# downloads LibTorch (a few hundred MB: --no-torchsharp leaves it out). A side that cannot run here is left out with a
# line saying why; its columns then read "—".
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc)
if [[ $# -gt 0 && $1 != --* ]]; then threads=$1; shift; fi
avx2=0 torchsharp=1 only=() rounds=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --avx2) avx2=1 ;;
    --no-torchsharp) torchsharp=0 ;;
    --rounds) rounds=${2:?compare.sh: --rounds needs a count}; shift ;;
    --only) only=(--only "${2:?compare.sh: --only needs a TEXT}"); shift ;;
    *) echo "compare.sh: unknown argument '$1' (expected [threads] [--avx2] [--rounds N] [--no-torchsharp] [--only TEXT])" >&2; exit 2 ;;
  esac
  shift
done
# counts checked before minutes of runs; python3 writes the table (Debian's own python3, not only for PyTorch's side)
[[ $threads =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: threads ($threads) and --rounds ($rounds) must be whole numbers of 1 or more" >&2; exit 2; }
command -v python3 >/dev/null || { echo "compare.sh: needs python3 for the table (apt-get install python3)" >&2; exit 2; }
dsl_env=() torch_env=() ts_narrow=()
if ((avx2)); then
  dsl_env=(DOTNET_EnableAVX512=0)
  torch_env=(ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell)
  ts_narrow=(--avx2) # launch.sh narrows LibTorch
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
touch "$out/torch.jsonl" "$out/ts.jsonl"
pytorch=1
if ((torchsharp)) && ! dotnet build -c Release bench/torchsharp -v quiet > "$out/ts.build" 2>&1; then
  echo "TorchSharp left out: bench/torchsharp did not build ($(grep -m1 -E 'error' "$out/ts.build" || tail -1 "$out/ts.build"))"
  torchsharp=0
fi
for ((round = 0; round < rounds; round++)); do
  env ${dsl_env[@]+"${dsl_env[@]}"} dotnet run -c Release --no-build --project bench/Dsl.Benchmarks -- --json --threads "$threads" ${only[@]+"${only[@]}"} >> "$out/dsl.jsonl"
  if ((pytorch)) && ! env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" ${torch_env[@]+"${torch_env[@]}"} /usr/bin/python3 bench/pytorch/bench.py --threads "$threads" ${only[@]+"${only[@]}"} >> "$out/torch.jsonl" 2> "$out/torch.err"; then
    echo "PyTorch left out: bench/pytorch/bench.py failed ($(tail -1 "$out/torch.err"))"
    : > "$out/torch.jsonl"
    pytorch=0
  fi
  if ((torchsharp)) && ! bench/torchsharp/launch.sh ${ts_narrow[@]+"${ts_narrow[@]}"} "$threads" --json ${only[@]+"${only[@]}"} >> "$out/ts.jsonl" 2> "$out/ts.err"; then
    echo "TorchSharp left out: its bench failed ($(tail -1 "$out/ts.err"))"
    : > "$out/ts.jsonl"
    torchsharp=0
  fi
done
PYTHONPATH=bench python3 - "$out/dsl.jsonl" "$out/torch.jsonl" "$out/ts.jsonl" "$threads" "$avx2" "$rounds" <<'PY'
import sys
from rounds import read
(dsl, dsl_info), (torch, torch_info), (ts, _) = (read(p) for p in sys.argv[1:4])
threads, avx2, rounds = int(sys.argv[4]), sys.argv[5] == "1", int(sys.argv[6])
torch = {l["name"]: l for l in torch}
ts = {l["name"]: l for l in ts}
if rounds > 1:
    print(f"Best of {rounds} alternating rounds per workload and side")
info = next((l for l in dsl_info if l.get("info") == "dsl"), None)
if info:
    print(f"Dsl: {info['vector_bits']}-bit vectors, GEMM micro-kernel {info['kernel']}" + (f", {info['blocking']}" if info.get('blocking') else "") + f", {info['cores']} cores, {threads} threads"
          + (" (narrowed by --avx2)" if avx2 else ""))
tinfo = next((l for l in torch_info if l.get("info") == "pytorch"), None)
if tinfo:
    print(f"PyTorch {tinfo['version']}, {tinfo['threads']} threads, BLAS: {', '.join(tinfo['blas']) or 'none found'}, "
          f"OMP_WAIT_POLICY={tinfo['OMP_WAIT_POLICY']}" + (", ATEN_CPU_CAPABILITY=avx2, OPENBLAS_CORETYPE=Haswell" if avx2 else ""))
if ts:
    print("TorchSharp 0.107 (LibTorch 2.10)" + (", ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2" if avx2 else ""))
peak1 = next(l["gflops"] for l in dsl if l["name"] == "peak fma 1 thread")
peakn = next(l["gflops"] for l in dsl if l["name"].startswith("peak fma") and l["name"] != "peak fma 1 thread")
print(f"FMA peak measured now: {peak1:.0f} GFLOP/s on 1 thread, {peakn:.0f} on {threads}")
print()
# Dsl's exported models in ONNX Runtime ("…, ONNX Runtime" rows of the Dsl bench) get columns of their own
suffix = ", ONNX Runtime"
ort = {l["name"][:-len(suffix)]: l for l in dsl if l["name"].endswith(suffix)}
cell = lambda x: f"{x['ms']:.3f}" if x else "—"
print("| configuration | Dsl ms | PyTorch ms | PyTorch / Dsl | TorchSharp ms | TorchSharp / Dsl | ONNX Runtime ms | ONNX Runtime / Dsl | Dsl GFLOP/s | % of peak |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for l in dsl:
    if l["name"].startswith("peak") or l["name"].endswith(suffix):
        continue
    peak = peak1 if "1 thread" in l["name"] else peakn
    ratio = lambda x: f"{x['ms'] / l['ms']:.2f}x" if x else "—"
    t, s, o = torch.get(l["name"]), ts.get(l["name"]), ort.get(l["name"])
    print(f"| {l['name']} | {l['ms']:.3f} | {cell(t)} | {ratio(t)} | {cell(s)} | {ratio(s)} | {cell(o)} | {ratio(o)} | {l['gflops']:.1f} | {100 * l['gflops'] / peak:.0f} % |")
PY
