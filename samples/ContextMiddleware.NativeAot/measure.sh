#!/usr/bin/env bash
# Publish time, size and start-up of this app as Native AOT and as the JIT builds (framework-dependent and
# self-contained), each published from scratch (its own artifacts folder). Prints one Markdown table row per build.
# Usage: samples/ContextMiddleware.NativeAot/measure.sh [runs]   (clang and zlib1g-dev needed; see .ci/run)
set -euo pipefail
cd "$(dirname "$0")"
runs="${1:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

measure() {
  local label="$1" name="$2" kind="$3"; shift 3
  local run=("$work/$name/out/ContextMiddleware.NativeAot")
  if [ "$kind" = dll ]; then run=(dotnet "$work/$name/out/ContextMiddleware.NativeAot.dll"); fi
  local start end
  start=$(date +%s%N)
  dotnet publish -c Release -r linux-x64 --artifacts-path "$work/$name" -o "$work/$name/out" -nologo "$@" >"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log"; exit 1; }
  end=$(date +%s%N)
  local publish_s size_mb
  publish_s=$(awk "BEGIN {printf \"%.0f\", ($end - $start) / 1e9}")
  size_mb=$(du -sb --exclude='*.pdb' --exclude='*.dbg' --exclude='*.xml' "$work/$name/out" | awk '{printf "%.1f", $1 / 1048576}')
  local answers=() walls=() rss=()
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    line=$(/usr/bin/time -f 'rss=%M' "${run[@]}" self-test 2>"$work/time.txt" | grep 'Self-test')
    end=$(date +%s%N)
    answers+=("$(sed -E 's/.*"ElapsedMs":([0-9]+).*/\1/' <<<"$line")")
    walls+=("$(( (end - start) / 1000000 ))")
    rss+=("$(sed -E 's/rss=([0-9]+)/\1/' "$work/time.txt" | tail -1)")
  done
  printf '| %s | %s s | %s MB | %s ms | %s ms | %s MB |\n' "$label" "$publish_s" "$size_mb" \
    "$(printf '%s\n' "${answers[@]}" | median)" "$(printf '%s\n' "${walls[@]}" | median)" \
    "$(printf '%s\n' "${rss[@]}" | median | awk '{printf "%.0f", $1 / 1024}')"
}

echo "| Build | Publish (from scratch) | Size on disk | First answer after process start (median of $runs) | Start to exit (median) | Peak RSS (median) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
measure "Native AOT" aot exe
measure "JIT, framework-dependent" jit-fd dll -p:PublishAot=false --self-contained false
measure "JIT, self-contained" jit-sc exe -p:PublishAot=false --self-contained true
