#!/usr/bin/env bash
# Times tern over a generated fleet of N consumer repositories (20 files each,
# one naming the dataset), approval: auto, verify: `true`, SQLite catalog, and
# the raw git work the same changes need (worktree, edit, commit, branch,
# fast-forward, cleanup), in the same run.
#   bench/fleet.sh [N]        (default 200)
# Repositories, worktrees and catalog live under $TMPDIR (default /tmp);
# `TMPDIR=/dev/shm bench/fleet.sh 10000` keeps the file system out of it.
set -euo pipefail
N=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
tern="$root/target/release/tern"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
. "$root/bench/lib.sh"

make_fleet "$w/a"
cd "$w/a"
import=$(secs "$tern" catalog import catalog-info.yaml)
plan=$(secs "$tern" plan spec.yaml --json)
# Peak resident memory of `tern run` too, where GNU time is installed.
if [ -x /usr/bin/time ]; then
  run_start=$(now)
  /usr/bin/time -f '%M' -o "$w/mem" "$tern" run spec.yaml --json >/dev/null
  run=$(sub "$(now)" "$run_start")
  peak="$(( $(cat "$w/mem") / 1024 )) MB"
else
  run=$(secs "$tern" run spec.yaml --json)
  peak="(no /usr/bin/time)"
fi
again=$(secs "$tern" run spec.yaml --json)
merged=$("$tern" status bench --json | grep -c '"state": "merged"' || true)
cd "$w" && rm -rf "$w/a"  # ten thousand repositories twice do not fit every tmpfs

# The same git work by hand, with git plumbing and sed (TERN_BENCH_RAW=0
# leaves it out, when only the stores are compared).
raw=0
if [ "${TERN_BENCH_RAW:-1}" != 0 ]; then
make_fleet "$w/b"
cd "$w/b"
raw_start=$(now)
for i in $(seq 1 "$N"); do
  r=$w/b/repos/c$i
  wt=$w/wt$i
  git -C "$r" worktree add -q --detach "$wt" main
  sed -i -e 's#hdfs://prod-nn:8020/warehouse/plays#gs://lake/plays#' -e 's#legacy\.plays#lake.plays#' "$wt/conf/app.yaml"
  git -C "$wt" commit -qam "Move plays" -m "Tern-Migration: bench"
  c=$(git -C "$wt" rev-parse HEAD)
  git -C "$r" update-ref refs/heads/tern/bench "$c"
  (cd "$wt" && true) # the verify command
  git -C "$r" update-ref refs/heads/main "$c"
  git -C "$r" worktree remove --force "$wt"
done
raw=$(sub "$(now)" "$raw_start")
cd "$w" && rm -rf "$w/b"
fi

printf 'consumers: %s (merged: %s)\n' "$N" "$merged"
printf 'catalog import:  %6.2f s\n' "$import"
printf 'tern plan:       %6.2f s  (%s consumers/s)\n' "$plan" "$(div "$N" "$plan")"
printf 'tern run:        %6.2f s  (%s consumers/s, peak %s)\n' "$run" "$(div "$N" "$run")" "$peak"
printf 'tern run again:  %6.2f s  (nothing to do)\n' "$again"
if [ "$raw" != 0 ]; then
  printf 'raw git loop:    %6.2f s  -> tern run / raw git = %sx\n' "$raw" "$(div "$run" "$raw")"
fi

# The same campaign on PostgreSQL: `tern run` alone, then with two `tern
# worker` processes beside it, each on a fresh copy of the fleet.
#   TERN_BENCH_POSTGRES=postgres://tern:tern@127.0.0.1:5432/tern bench/fleet.sh 1000
if [ -n "${TERN_BENCH_POSTGRES:-}" ]; then
  pg_run() {  # pg_run NAME WORKERS
    local db="tern_bench_$$_$1" pids=()
    psql "$TERN_BENCH_POSTGRES" -qc "CREATE DATABASE $db"
    local url="${TERN_BENCH_POSTGRES%/*}/$db"
    make_fleet "$w/$1"
    cd "$w/$1"
    "$tern" --catalog "$url" catalog import catalog-info.yaml >/dev/null
    for _ in $(seq 1 "$2"); do
      "$tern" --catalog "$url" worker --idle 100ms >/dev/null 2>&1 &
      pids+=($!)
    done
    local t
    t=$(secs "$tern" --catalog "$url" run spec.yaml --json)
    local merged
    merged=$("$tern" --catalog "$url" status bench --json | grep -c '"state": "merged"' || true)
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    wait 2>/dev/null || true
    cd "$w" && rm -rf "${w:?}/$1"
    psql "$TERN_BENCH_POSTGRES" -qc "DROP DATABASE $db" >/dev/null 2>&1 || true
    printf 'postgres, %s worker(s): tern run %6.2f s  (%s consumers/s, merged %s)\n' "$2" "$t" "$(div "$N" "$t")" "$merged"
  }
  pg_run pg0 0
  pg_run pg2 2
fi
