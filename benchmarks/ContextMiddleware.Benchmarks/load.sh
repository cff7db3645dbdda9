#!/usr/bin/env bash
# Kestrel load test on 127.0.0.1 only: for each middleware variant, requests/s and the server's CPU time per request
# (user + system, from /proc/PID/stat, over the requests wrk counted), each against its baseline measured in the same
# round: bare for the plain variants, serilog (Serilog request logging alone) for serilog-requestcontext.
# Servers run pinned to CPU 0, wrk to CPU 1; the variants are alternated round by round (A B A B ...). A second bare
# server ("bare2") shows the noise floor. Bounded: ROUNDS x variants x DURATION, then every server is stopped.
#
#   benchmarks/ContextMiddleware.Benchmarks/load.sh            # 10 rounds of 10 s per variant, after 10 s of warm-up each
#   ROUNDS=3 DURATION=5s VARIANTS="bare requestcontext bare2" benchmarks/ContextMiddleware.Benchmarks/load.sh
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-10s}
read -r -a VARIANTS <<<"${VARIANTS:-bare requestcontext correlationid asynclocal bare2 serilog serilog-requestcontext}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dotnet build -c Release -v q -nologo >/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
port=5301
declare -A ports
for variant in "${VARIANTS[@]}"; do
  ports[$variant]=$port
  taskset -c 0 dotnet bin/Release/net10.0/ContextMiddleware.Benchmarks.dll serve "$variant" "http://127.0.0.1:$port" >/dev/null &
  pids+=($!)
  port=$((port + 1))
done
for variant in "${VARIANTS[@]}"; do
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:${ports[$variant]}/" >/dev/null && break; sleep 0.2; done
  taskset -c 1 wrk -t1 -c32 -d"$WARMUP" "http://127.0.0.1:${ports[$variant]}/" >/dev/null # warm-up: every tier compiled
done

declare -A pidof
i=0
for variant in "${VARIANTS[@]}"; do pidof[$variant]=${pids[$i]}; i=$((i + 1)); done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

results=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for variant in "${VARIANTS[@]}"; do
    before=$(cpu_ticks "${pidof[$variant]}")
    out=$(taskset -c 1 wrk -t1 -c32 -d"$DURATION" -H "X-Request-ID: load-test-id" "http://127.0.0.1:${ports[$variant]}/")
    after=$(cpu_ticks "${pidof[$variant]}")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    us=$(python3 -c "print(($after - $before) / $hz / $requests * 1e6)")
    echo "$round $variant $rps $us" | tee -a "$results"
  done
done

echo
python3 - "$results" "${VARIANTS[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rps, cpu = {}, {}
for rnd, variant, value, us in rows:
    rps.setdefault(variant, {})[rnd] = float(value)
    cpu.setdefault(variant, {})[rnd] = float(us)
print("| Variant | Baseline | Median requests/s | Median paired ratio | Server CPU per request | Median paired CPU over baseline | Range |")
print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
for variant in sys.argv[2:]:
    base = "serilog" if variant.startswith("serilog") else "bare"
    ratios = [rps[variant][r] / rps[base][r] for r in rps[variant]]
    deltas = [cpu[variant][r] - cpu[base][r] for r in cpu[variant]]
    print(f"| {variant} | {base} | {statistics.median(rps[variant].values()):.0f} | {statistics.median(ratios):.3f} | "
          f"{statistics.median(cpu[variant].values()):.2f} µs | {statistics.median(deltas):+.2f} µs | {min(deltas):+.2f} to {max(deltas):+.2f} µs |")
PY
