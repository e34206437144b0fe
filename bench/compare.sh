#!/usr/bin/env bash
# Runs the same configurations in Dsl and in PyTorch on this machine, with the same threads, and
# prints times, the ratio (PyTorch time / Dsl time: > 1 means Dsl is faster), the same for Dsl's models exported to
# ONNX and run by ONNX Runtime where the Dsl bench has them, GFLOP/s and the
# fraction of the measured FMA peak. Usage, from a clean clone:
#   dotnet build -c Release && bench/compare.sh [threads]
# PyTorch at its best needs Debian's python3-torch with OpenBLAS (apt-get install python3-torch
# libopenblas0-pthread); the PyTorch side prints which BLAS it loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
out=$(mktemp -d)
dotnet run -c Release --no-build --project bench/Dsl.Benchmarks -- --json --threads "$threads" > "$out/dsl.jsonl"
OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" /usr/bin/python3 bench/pytorch/bench.py --threads "$threads" > "$out/torch.jsonl"
python3 - "$out/dsl.jsonl" "$out/torch.jsonl" "$threads" <<'PY'
import json, sys
dsl = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
torch_lines = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
threads = int(sys.argv[3])
info = next(l for l in torch_lines if "info" in l)
torch = {l["name"]: l for l in torch_lines if "name" in l}
peak1 = next(l["gflops"] for l in dsl if l["name"] == "peak fma 1 thread")
peakn = next(l["gflops"] for l in dsl if l["name"].startswith("peak fma") and l["name"] != "peak fma 1 thread")
print(f"PyTorch {info['version']}, {info['threads']} threads, BLAS: {', '.join(info['blas']) or 'none found'}, OMP_WAIT_POLICY={info['OMP_WAIT_POLICY']}")
print(f"FMA peak measured now: {peak1:.0f} GFLOP/s on 1 thread, {peakn:.0f} on {threads}")
print()
# Dsl's exported models in ONNX Runtime ("…, ONNX Runtime" rows of the Dsl bench) get a column of their own
suffix = ", ONNX Runtime"
ort = {l["name"][:-len(suffix)]: l for l in dsl if l["name"].endswith(suffix)}
print(f"| configuration | Dsl ms | PyTorch ms | PyTorch / Dsl | ONNX Runtime ms | ONNX Runtime / Dsl | Dsl GFLOP/s | % of peak |")
print(f"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for l in dsl:
    if l["name"].startswith("peak") or l["name"].endswith(suffix):
        continue
    peak = peak1 if "1 thread" in l["name"] else peakn
    t, o = torch.get(l["name"]), ort.get(l["name"])
    ratio = f"{t['ms'] / l['ms']:.2f}x" if t else "—"
    tms = f"{t['ms']:.3f}" if t else "—"
    oms, oratio = (f"{o['ms']:.3f}", f"{o['ms'] / l['ms']:.2f}x") if o else ("—", "—")
    print(f"| {l['name']} | {l['ms']:.3f} | {tms} | {ratio} | {oms} | {oratio} | {l['gflops']:.1f} | {100 * l['gflops'] / peak:.0f} % |")
PY
rm -rf "$out"
