#!/usr/bin/env bash
# Kestrel load test: requests/s of each middleware variant relative to a bare pipeline, on 127.0.0.1 only.
# Servers run pinned to CPU 0, wrk to CPU 1; the variants are alternated round by round (A B A B ...), and each
# round's ratio is taken against the bare server measured in the same round. A second bare server ("bare2")
# shows the noise floor. Bounded: ROUNDS x variants x DURATION, then every server is stopped.
#
#   tests/ContextMiddleware.Benchmarks/load.sh            # 10 rounds of 10 s per variant
#   ROUNDS=3 DURATION=5s tests/ContextMiddleware.Benchmarks/load.sh
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-10s}
VARIANTS=(bare requestcontext correlationid asynclocal bare2)

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
  taskset -c 1 wrk -t1 -c32 -d2s "http://127.0.0.1:${ports[$variant]}/" >/dev/null # warm-up
done

results=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for variant in "${VARIANTS[@]}"; do
    rps=$(taskset -c 1 wrk -t1 -c32 -d"$DURATION" -H "X-Request-ID: load-test-id" "http://127.0.0.1:${ports[$variant]}/" | awk '/Requests\/sec/ {print $2}')
    echo "$round $variant $rps" | tee -a "$results"
  done
done

echo
python3 - "$results" "${VARIANTS[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rps = {}
for rnd, variant, value in rows:
    rps.setdefault(variant, {})[rnd] = float(value)
print("| Variant | Median requests/s | Median paired ratio to bare | Min ratio | Max ratio |")
print("| --- | ---: | ---: | ---: | ---: |")
for variant in sys.argv[2:]:
    ratios = [rps[variant][r] / rps["bare"][r] for r in rps[variant]]
    print(f"| {variant} | {statistics.median(rps[variant].values()):.0f} | {statistics.median(ratios):.3f} | {min(ratios):.3f} | {max(ratios):.3f} |")
PY
