#!/usr/bin/env bash
# The rewrite engine's scan against ripgrep, same tree, same locators, same
# run: a synthetic fleet of N repositories of F files each (Scala, Python,
# Java, SQL, YAML, HOCON, properties, Terraform; about 2% name the dataset,
# many more name look-alikes such as plays_archive or legacy.tracks; 0.22%
# are CSV/TSV/JSONL data files of 1-3 MB and 0.1% code files of 200-400 KB,
# which together hold most of the bytes).
#   bench/engine.sh [N] [F]        (default 1000 repositories, 100 files)
# Needs ripgrep (apt-get install ripgrep), GNU time and git; ast-grep
# (pip install ast-grep-cli) for the per-file comparison.
set -euo pipefail
N=${1:-1000}
F=${2:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v rg >/dev/null || { echo "bench/engine.sh needs ripgrep: apt-get install ripgrep" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
tern="$root/target/release/tern"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# TERN_BENCH_TREE=DIR keeps the generated tree there (and reuses it).
if [ -n "${TERN_BENCH_TREE:-}" ]; then
  mkdir -p "$TERN_BENCH_TREE"; ln -s "$(cd "$TERN_BENCH_TREE" && pwd)" "$w/tree"
fi
[ -d "$w/tree/r0000" ] || python3 - "$w/tree" "$N" "$F" <<'PY'
import os, random, sys
out, n, f = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
# (extension, comment prefix, indent, a use of the dataset, the file around the body)
kinds = [
    ("scala", "//", "    ", 'val df = spark.read.format("avro").load("{loc}")\n    val q = spark.sql("""SELECT user_id, COUNT(*) AS n FROM {tab} GROUP BY user_id""")\n',
     '// job {i}\nobject Job{i} {{\n  val t = "legacy.tracks"\n  def run(): Unit = {{\n{body}  }}\n}}\n'),
    ("py", "#", "    ", 'df = spark.read.format("avro").load("{loc}")\n    q = spark.sql("SELECT user_id, ts FROM {tab}")\n',
     '# job {i}\nimport pyspark\nARCHIVE = "hdfs://prod-nn:8020/warehouse/plays_archive"\n\n\ndef run():\n{body}    return None\n'),
    ("java", "//", "    ", 'Dataset<Row> d = spark.read().format("avro").load("{loc}");\n',
     '// job {i}\nclass Job{i} {{\n  String t = "legacy.plays_daily";\n  void run() {{\n{body}  }}\n}}\n'),
    ("sql", "--", "", 'SELECT p.user_id, p.ts, t.title FROM {tab} p JOIN legacy.tracks t ON t.track_id = p.track_id WHERE p.ts > 0;\n',
     '-- report {i}\nSELECT track_id, COUNT(*) FROM legacy.tracks GROUP BY track_id;\n{body}'),
    ("yaml", "#", "", 'input:\n  path: {loc}\n  format: avro\n', '# config {i}\noutput:\n  path: gs://reports/daily\n  format: parquet\n{body}'),
    ("conf", "#", "", 'input.path = "{loc}"\n', '# hocon {i}\njob {{ name = "j{i}" }}\n{body}'),
    ("properties", "#", "", 'input.table={tab}\n', '# props {i}\njob.name=j{i}\n{body}'),
    ("tf", "#", "", 'resource "x" "y" {{\n  table_id = "{tab}"\n}}\n', '# terraform {i}\nresource "google_bigquery_table" "t{i}" {{\n  table_id = "legacy.tracks"\n}}\n{body}'),
]
# Data files (CSV, TSV, JSONL of 1-3 MB) and large code files (200-400 KB),
# as real repositories hold them: test fixtures, samples, generated code.
def data_file(ext, size):
    row = {"csv": "{i},user{u},track{t},2026-01-{d:02d}T10:00:00Z,{ms},GB\n",
           "tsv": "{i}\tuser{u}\ttrack{t}\t2026-01-{d:02d}T10:00:00Z\t{ms}\tSE\n",
           "jsonl": '{{"id": {i}, "user": "user{u}", "track": "track{t}", "ts": "2026-01-{d:02d}T10:00:00Z", "ms": {ms}}}\n'}[ext]
    out, i, total = [], 0, 0
    while total < size:
        line = row.format(i=i, u=rnd.randrange(10**6), t=rnd.randrange(10**5), d=1 + i % 28, ms=rnd.randrange(10**6))
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out)
def big_code(ext, size, i):
    unit = {"scala": "  def f{k}(x: Int): Int = x * {k} + legacyTracks.size // helper {k}\n",
            "py": "def f{k}(x):\n    return x * {k} + len(LEGACY_TRACKS)  # helper {k}\n",
            "java": "  static int f{k}(int x) {{ return x * {k} + LEGACY_TRACKS.length(); }} // helper {k}\n"}[ext]
    out, k, total = [], 0, 0
    while total < size:
        line = unit.format(k=k)
        out.append(line)
        total += len(line)
        k += 1
    return "".join(out)
files = hits = size = data = big = 0
for r in range(n):
    d = os.path.join(out, f"r{r:04d}")
    os.makedirs(os.path.join(d, "src"), exist_ok=True)
    for i in range(f):
        roll = rnd.random()
        if roll < 0.0022:
            ext = ("csv", "tsv", "jsonl")[i % 3]
            text = data_file(ext, rnd.randrange(1_000_000, 3_000_000))
            with open(os.path.join(d, "src", f"f{i:03d}.{ext}"), "w") as fh:
                fh.write(text)
            files += 1; data += 1; size += len(text)
            continue
        if roll < 0.0032:
            ext = ("scala", "py", "java")[i % 3]
            text = big_code(ext, rnd.randrange(200_000, 400_000), i)
            with open(os.path.join(d, "src", f"f{i:03d}.{ext}"), "w") as fh:
                fh.write(text)
            files += 1; big += 1; size += len(text)
            continue
        ext, comment, indent, use, shell = kinds[(r + i) % len(kinds)]
        body = "".join(f"{indent}{comment} line {k}: nothing to see here, just code that reads other data\n" for k in range(30))
        if rnd.random() < 0.02:
            body += indent + use.format(loc="hdfs://prod-nn:8020/warehouse/plays/date=2026-01-01", tab="legacy.plays")
            hits += 1
        text = shell.format(i=i, body=body)
        with open(os.path.join(d, "src", f"f{i:03d}.{ext}"), "w") as fh:
            fh.write(text)
        files += 1
        size += len(text)
print(f"tree: {n} repositories, {files} files, {size / 1e6:.1f} MB, {hits} naming the dataset, {data} data files of 1-3 MB, {big} code files of 200-400 KB", file=sys.stderr)
PY

cat > "$w/spec.yaml" <<'SPEC'
version: 1
id: bench
title: Move plays
replace:
  - {kind: path, old: [hdfs://prod-nn:8020/warehouse/plays, /warehouse/plays], new: gs://lake/plays}
  - {kind: table, old: legacy.plays, new: lake.plays}
format: {old: avro, new: parquet}
columns: {user_id: account_id, ts: event_time}
SPEC
bytes=$(du -sbL "$w/tree/" | cut -f1)
files=$(find "$w/tree/" -type f | wc -l)
# Warm the page cache so both read from memory.
rg -F -l -e x "$w/tree/" >/dev/null || true

measure() {  # measure NAME CMD...: wall seconds and peak RSS, best of 3
  local name=$1 best="" mem=""
  shift
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$w/t" "$@" >"$w/out" 2>"$w/err" || true
    if [ ! -s "$w/out" ]; then echo "$name printed nothing:" >&2; cat "$w/err" >&2; exit 1; fi
    read -r s m < <(tail -n1 "$w/t")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; mem=$m; fi
  done
  printf '%-34s %7.2f s  %9.0f files/s  %7.1f MB/s  peak %5.0f MB\n' "$name" "$best" \
    "$(awk -v f="$files" -v s="$best" 'BEGIN { print f / s }')" \
    "$(awk -v b="$bytes" -v s="$best" 'BEGIN { print b / 1e6 / s }')" \
    "$(awk -v m="$mem" 'BEGIN { print m / 1024 }')"
  echo "$best" >"$w/last"
}
measure "rg -F -l (4 locators)" rg -F -l -e hdfs://prod-nn:8020/warehouse/plays -e /warehouse/plays -e legacy.plays -e LEGACY.PLAYS "$w/tree/"
rg_s=$(cat "$w/last"); rg_hits=$(wc -l <"$w/out")
measure "tern rewrite --dry-run --json" "$tern" rewrite --spec "$w/spec.yaml" --dry-run --json "$w/tree/"
tern_s=$(cat "$w/last")
tern_files=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files_changed"]))' "$w/out")
printf 'files ripgrep lists: %s   files tern would change: %s   tern / rg = %sx\n' "$rg_hits" "$tern_files" \
  "$(awk -v a="$tern_s" -v b="$rg_s" 'BEGIN { printf "%.2f", a / b }')"

# Per rewritten file, against ast-grep (pip install ast-grep-cli) with a
# comparable rule: the Scala, Python and Java files tern changes, copied
# twice; ast-grep rewrites the format call on the read chain in one copy
# (one pattern per language), tern applies every rule to the other.
if command -v ast-grep >/dev/null; then
  copy_hits() {
    rm -rf "$w/hits"
    python3 - "$w/out" "$w/tree" "$w/hits" <<'PY'
import json, os, shutil, sys
changed = json.load(open(sys.argv[1]))["files_changed"]
for side in ("tern", "sg"):
    for p in changed:
        if p.rsplit(".", 1)[-1] in ("scala", "py", "java"):
            dst = os.path.join(sys.argv[3], side, p)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(os.path.join(sys.argv[2], p), dst)
PY
  }
  "$tern" rewrite --spec "$w/spec.yaml" --dry-run --json "$w/tree/" >"$w/out"
  cat >"$w/sg.sh" <<SG
set -e
ast-grep run -l scala -p 'spark.read.format("avro").load(\$P)' -r 'spark.read.format("parquet").load(\$P)' -U "$w/hits/sg" >/dev/null 2>&1
ast-grep run -l python -p 'spark.read.format("avro").load(\$P)' -r 'spark.read.format("parquet").load(\$P)' -U "$w/hits/sg" >/dev/null 2>&1
ast-grep run -l java -p 'spark.read().format("avro").load(\$P)' -r 'spark.read().format("parquet").load(\$P)' -U "$w/hits/sg" >/dev/null 2>&1
SG
  sg_best="" tern_best=""
  for _ in 1 2 3; do  # best of 3, each on fresh copies
    # `sync` first, so that neither tool pays for the writeback of the
    # generator's, the copy's or the other tool's files.
    copy_hits
    sync; t0=$(date +%s.%N); bash "$w/sg.sh"; t1=$(date +%s.%N)
    sync; t2=$(date +%s.%N); "$tern" rewrite --spec "$w/spec.yaml" "$w/hits/tern" >/dev/null; t3=$(date +%s.%N)
    a=$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }'); b=$(awk -v x="$t2" -v y="$t3" 'BEGIN { print y - x }')
    if [ -z "$sg_best" ] || awk -v a="$a" -v b="$sg_best" 'BEGIN { exit !(a < b) }'; then sg_best=$a; fi
    if [ -z "$tern_best" ] || awk -v a="$b" -v b="$tern_best" 'BEGIN { exit !(a < b) }'; then tern_best=$b; fi
  done
  code_files=$(find "$w/hits/tern" -type f | wc -l)
  sg_changed=$(grep -rl 'format("parquet")' "$w/hits/sg" | wc -l)
  tern_changed=$(grep -rl 'format("parquet")' "$w/hits/tern" | wc -l)
  awk -v n="$code_files" -v a="$sg_best" -v b="$tern_best" -v sc="$sg_changed" -v tc="$tern_changed" 'BEGIN {
    printf "code files rewritten: %d (ast-grep changed %d, tern %d); best of 3\n", n, sc, tc
    printf "ast-grep (3 patterns): %6.3f s  %6.2f ms/file\n", a, 1000 * a / n
    printf "tern rewrite:          %6.3f s  %6.2f ms/file  -> ast-grep / tern = %.1fx\n", b, 1000 * b / n, a / b }'
else
  echo "ast-grep not found (pip install ast-grep-cli): per-file comparison skipped"
fi

# `tern plan` over the same files as N git repositories in a catalog: the
# forge reads each consumer's default branch in process (refs, tree, blobs),
# then the engine runs on the files holding a needle. Timed twice: with every
# object loose, as `git commit` leaves a new repository, and packed, as a
# `git clone` leaves one (TERN_BENCH_PLAN=0 skips this part).
if [ "${TERN_BENCH_PLAN:-1}" != 0 ]; then
  export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@b
  {
    printf 'apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: hdfs-plays}\nspec: {type: dataset, owner: data}\n'
    for d in "$w"/tree/r*; do
      r=$(basename "$d")
      git -C "$d" init -q -b main && git -C "$d" add -A && git -C "$d" commit -qm init
      printf -- '---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\n  annotations: {backstage.io/source-location: "dir:./tree/%s"}\nspec: {owner: insights, dependsOn: [resource:default/hdfs-plays]}\n' "$r" "$r"
    done
  } >"$w/catalog-info.yaml"
  sed -i 's/^title: Move plays$/title: Move plays\ndataset: {from: hdfs-plays}/' "$w/spec.yaml"
  (cd "$w" && "$tern" catalog import catalog-info.yaml >/dev/null)
  plan_files() { python3 -c 'import json,sys; print(sum(len(c["files"]) for c in json.load(open(sys.argv[1]))["consumers"]))' "$w/out"; }
  (cd "$w" && measure "tern plan --json (loose objects)" "$tern" plan spec.yaml --json)
  loose_s=$(cat "$w/last"); loose_files=$(plan_files)
  for d in "$w"/tree/r*; do git -C "$d" repack -adq; done
  (cd "$w" && measure "tern plan --json (packed)" "$tern" plan spec.yaml --json)
  packed_s=$(cat "$w/last"); packed_files=$(plan_files)
  printf 'files planned: %s loose, %s packed   tern plan / rg = %sx loose, %sx packed\n' "$loose_files" "$packed_files" \
    "$(awk -v a="$loose_s" -v b="$rg_s" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$packed_s" -v b="$rg_s" 'BEGIN { printf "%.2f", a / b }')"
fi
