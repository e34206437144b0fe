#!/usr/bin/env bash
# The NativeAOT check: publishes tests/aot/AotTrainer with a default NativeAOT publish (no instruction-set option on the
# command line; the package's build targets, imported by the project, choose x86-64-v3 on x64),
# builds the same trainer for the JIT, runs both and checks that
#   (a) the publish gives no trim/AOT warning (nor any other warning),
#   (b) the AOT binary's losses equal the JIT's to 1e-5 relative, step by step,
#   (c) the AOT median step time is within 2.5x of the JIT's at the same vector width (on an AVX-512 machine the
#       JIT also runs without AVX-512, as the x86-64-v3 binary does; the full-width ratio is printed beside it), the
#       JIT measured at full optimisation (DOTNET_TieredCompilation=0: its steady state, not the first tiers of a
#       20-step run) and both with one GEMM thread (AOT_CHECK_THREADS), so that a shared machine's other load moves
#       the ratio less;
# and prints the binary's size. Ends with one line "aot check: passed (...)" or "aot check: FAILED (...)" and
# exits non-zero on any failure. Needs clang and zlib1g-dev (the native linker step); installs them with apt
# when missing (run as root).
# PublishAot is set in the project: -p:PublishAot=true on the command line would reach the netstandard2.0
# attribute and generator projects too, which the SDK refuses (NETSDK1207).
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

steps=${AOT_CHECK_STEPS:-20}
threads=${AOT_CHECK_THREADS:-1}
runs=${AOT_CHECK_RUNS:-3}   # each build runs this many times, alternately; the fastest median counts (the machine is shared)
start=$SECONDS
fail() { echo "aot check: FAILED ($*)"; exit 1; }

if ! command -v clang >/dev/null 2>&1 || ! dpkg -s zlib1g-dev >/dev/null 2>&1; then
    echo "== installing clang zlib1g-dev"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q clang zlib1g-dev; } >/dev/null 2>&1 || fail "could not install clang zlib1g-dev with apt"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# the host's own platform (an Arm64 host cannot run, nor link, an x64 binary); an x64 CPU without AVX2 and FMA cannot start
# the package's default x86-64-v3 binary, so it gets x86-64-v2 (what it runs is then the 128-bit kernel's speed)
case "$(uname -m)" in
    aarch64 | arm64) rid=linux-arm64 ;;
    *) rid=linux-x64 ;;
esac
isa=()
if [ "$rid" = linux-x64 ] && ! { grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; }; then isa=(-p:DslAotInstructionSet=x86-64-v2); fi
echo "== dotnet publish -c Release -r $rid ${isa[*]:-} (NativeAOT, the package's default instruction set)"
dotnet publish AotTrainer/AotTrainer.csproj -c Release -r "$rid" "${isa[@]}" -o "$out/aot" >"$out/publish.log" 2>&1
prc=$?
cat "$out/publish.log"
[ "$prc" -eq 0 ] || fail "the NativeAOT publish failed, exit $prc"
[ -x "$out/aot/AotTrainer" ] || fail "the NativeAOT publish wrote no native binary"
warnings=$(grep -E '(^|[^A-Za-z])warning( |:)' "$out/publish.log" | sort -u)
if [ -n "$warnings" ]; then
    echo "== warnings:"
    echo "$warnings"
    fail "$(echo "$warnings" | wc -l) warning(s) in the NativeAOT publish"
fi

echo "== dotnet build -c Release (JIT)"
dotnet build AotTrainer/AotTrainer.csproj -c Release -o "$out/jit" >"$out/build.log" 2>&1 || { cat "$out/build.log"; fail "the JIT build failed"; }

best() { awk '/^median step ms/ { print $4 }' "$@" | sort -g | head -1; }
kernel_of() { awk '/^micro-kernel/ { print $2 }' "$1"; }
# The speed bound compares kernels of one width: a default publish targets x86-64-v3, so on an AVX-512 machine the AOT
# binary runs the 256-bit kernel while the JIT runs the 512-bit one. There the JIT also runs with AVX-512 switched off
# (jit256), and the bound applies to that pair; the full-width ratio is reported beside it. Only then: a binary that
# fell to the 128-bit or scalar kernel (the failure this check exists for: 14x slower) is still compared with the JIT at
# full width, and one that ran the 256-bit kernel at 256-bit speed only when compiled for more is beyond this check.
narrow_jit=
for ((r = 1; r <= runs; r++)); do
    DOTNET_TieredCompilation=0 dotnet "$out/jit/AotTrainer.dll" "$steps" "$threads" >"$out/jit.$r" 2>&1 || { cat "$out/jit.$r"; fail "the JIT run failed"; }
    "$out/aot/AotTrainer" "$steps" "$threads" >"$out/aot.$r" 2>&1 || { cat "$out/aot.$r"; fail "the NativeAOT binary failed"; }
    if [ "$r" -eq 1 ] && [[ "$(kernel_of "$out/jit.1")" == v512-* && "$(kernel_of "$out/aot.1")" == v256-* ]]; then narrow_jit=1; fi
    if [ -n "$narrow_jit" ]; then
        DOTNET_TieredCompilation=0 DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0 dotnet "$out/jit/AotTrainer.dll" "$steps" "$threads" >"$out/jit256.$r" 2>&1 || { cat "$out/jit256.$r"; fail "the 256-bit JIT run failed"; }
    fi
done
echo "== JIT run 1 (DOTNET_TieredCompilation=0)"; cat "$out/jit.1"
echo "== NativeAOT run 1"; cat "$out/aot.1"

# (b) losses step by step
mismatch=$(awk -v steps="$steps" '
    FNR == NR && /^step / { jit[$2] = $4; next }
    /^step / { aot[$2] = $4 }
    END {
        bad = 0
        for (i = 1; i <= steps; i++) {
            if (!(i in jit) || !(i in aot)) { printf "step %d missing\n", i; bad++; continue }
            d = jit[i] - aot[i]; if (d < 0) d = -d
            s = jit[i] < 0 ? -jit[i] : jit[i]
            if (d > 1e-5 * s || jit[i] != jit[i] || aot[i] != aot[i]) { printf "step %d: JIT %s, AOT %s\n", i, jit[i], aot[i]; bad++ }
        }
    }' "$out/jit.1" "$out/aot.1")
[ -z "$mismatch" ] || { echo "$mismatch"; fail "$(echo "$mismatch" | wc -l) step loss(es) differ beyond 1e-5 relative"; }
for ((r = 2; r <= runs; r++)); do
    cmp -s <(grep '^step ' "$out/aot.1") <(grep '^step ' "$out/aot.$r") || fail "the NativeAOT losses differ from run to run"
done

# (c) speed, (d) size
jit_ms=$(best "$out"/jit.*)
aot_ms=$(best "$out"/aot.*)
[ -n "$jit_ms" ] && [ -n "$aot_ms" ] || fail "a run printed no median step time (JIT '$jit_ms', AOT '$aot_ms')"
kernel=$(kernel_of "$out/aot.1")
jit_kernel=$(kernel_of "$out/jit.1")
size=$(stat -c %s "$out/aot/AotTrainer")
full_ratio=$(awk -v a="$aot_ms" -v j="$jit_ms" 'BEGIN { printf "%.2f", a / j }')
if [ -n "$narrow_jit" ]; then
    same_ms=$(best "$out"/jit256.*)
    same_kernel=$(kernel_of "$out/jit256.1")
    [ -n "$same_ms" ] || fail "the JIT without AVX-512 printed no median step time"
    [ "$same_kernel" = "$kernel" ] || fail "the JIT without AVX-512 ran $same_kernel, the NativeAOT binary $kernel"
    ratio=$(awk -v a="$aot_ms" -v j="$same_ms" 'BEGIN { printf "%.2f", a / j }')
    speed="JIT $same_ms ms ($same_kernel) vs AOT $aot_ms ms ($kernel) = ${ratio}x; JIT at full width $jit_ms ms ($jit_kernel) = ${full_ratio}x"
else
    ratio=$full_ratio
    speed="JIT $jit_ms ms ($jit_kernel) vs AOT $aot_ms ms ($kernel) = ${ratio}x"
fi
echo "== NativeAOT binary: $size bytes; median step: $speed"
summary="0 warnings, $steps losses within 1e-5, step $speed, binary $size bytes, $((SECONDS - start)) s"
# AOT_SPEED_LIMIT (default 2.5) bounds the ratio; 0 reports it without enforcing it
limit=${AOT_SPEED_LIMIT:-2.5}
if awk -v l="$limit" 'BEGIN { exit !(l > 0) }'; then
    awk -v r="$ratio" -v l="$limit" 'BEGIN { exit !(r <= l) }' || fail "NativeAOT is ${ratio}x slower than the JIT (limit ${limit}x); $summary"
else
    summary="$summary; the speed limit is not enforced (AOT_SPEED_LIMIT=0)"
fi
echo "aot check: passed ($summary)"
