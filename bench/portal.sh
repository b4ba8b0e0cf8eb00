#!/usr/bin/env bash
# Load on the portal: GET the status of an N-consumer migration (and its
# page) with wrk from a second process, on loopback.
#   bench/portal.sh [N] [SECONDS]      (default 1000 consumers, 10 s per route)
# Needs wrk (apt-get install wrk).
set -euo pipefail
N=${1:-1000}
D=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "bench/portal.sh needs wrk: apt-get install wrk" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
tern="$root/target/release/tern"
w=$(mktemp -d)
. "$root/bench/lib.sh"
make_fleet "$w/a"
cd "$w/a"
"$tern" catalog import catalog-info.yaml >/dev/null
"$tern" run spec.yaml --json >/dev/null
"$tern" serve --addr 127.0.0.1:0 > "$w/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$w"' EXIT
for _ in $(seq 1 100); do
  url=$(grep -o -m1 'http://127.0.0.1:[0-9]*' "$w/serve.log" | head -n1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
bytes=$(curl -s "$url/api/migrations/bench" | wc -c)
printf 'consumers: %s   status JSON: %s bytes\n' "$N" "$bytes"
for route in /api/migrations/bench /migrations/bench; do
  out=$(wrk -t2 -c32 -d"${D}s" --latency "$url$route")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
  printf 'GET %-24s %9s req/s   p50 %8s   p99 %8s   %s\n' "$route" "$rps" "$p50" "$p99" "${errs:-no errors}"
done
