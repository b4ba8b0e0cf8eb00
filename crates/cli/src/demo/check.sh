#!/bin/sh
# The demo fleet's verification: every dataset a file reads must be live in the
# (simulated) storage, and every format the file declares must be that
# dataset's format. Usage: check.sh STORAGE [FILE...]
set -u
STORAGE=$1
shift
if [ $# -eq 0 ]; then
  set -- $(find . -type f ! -path './.git/*' ! -path './ci/*' ! -path './test/*' ! -name '.tern.yaml' ! -name '*.md' | sort)
fi
status=0

# A reference -> the dataset folder in storage that holds it (has _FORMAT), or nothing.
resolve() {
  r=$(printf '%s' "$1" | tr -d '`"'"'" | sed -E 's#^[^A-Za-z0-9/]+##')
  case "$r" in
    hdfs://*) p="$STORAGE/hdfs/$(printf '%s' "$r" | sed -E 's#^hdfs://([^:/]+)(:[0-9]+)?/#\1/#')" ;;
    gs://*) p="$STORAGE/gs/${r#gs://}" ;;
    /warehouse/*) p="$STORAGE/hdfs/prod-nn$r" ;;
    resource:*) p="$STORAGE/entities/${r##*/}" ;;
    *) p="$STORAGE/tables/$(printf '%s' "$r" | tr 'A-Z' 'a-z' | tr . /)" ;;
  esac
  while [ ! -f "$p/_FORMAT" ] && [ "${#p}" -gt "${#STORAGE}" ]; do p=$(dirname "$p"); done
  if [ -f "$p/_FORMAT" ]; then printf '%s' "$p"; fi
}

for f in "$@"; do
  refs=$(grep -ohiE 'hdfs://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._/=-]*|gs://[A-Za-z0-9._/=-]+|(^|[^A-Za-z0-9:/._-])/warehouse/[A-Za-z0-9._/=-]+|resource:default/[a-z0-9-]+|[`"]?(legacy|lake)[`"]?\.[`"]?[A-Za-z_]+' "$f" || true)
  fmts=$(grep -ohiE "format\(\"[a-z]+\"\)|'format' *= *'[a-z]+'|format: *[a-z]+" "$f" | grep -oiE 'avro|parquet|orc' | tr 'A-Z' 'a-z' | sort -u || true)
  for ref in $refs; do
    root=$(resolve "$ref")
    if [ -z "$root" ]; then echo "FAIL $f: $ref: no such dataset"; status=1; continue; fi
    if [ -f "$root/RETIRED" ]; then echo "FAIL $f: $ref: $(cat "$root/RETIRED")"; status=1; continue; fi
    want=$(cat "$root/_FORMAT")
    case "$ref" in
      *.avro | *.parquet | *.orc)
        ext=${ref##*.}
        if [ "$ext" != "$want" ]; then echo "FAIL $f: $ref: its files are $want, not $ext"; status=1; continue; fi ;;
    esac
    bad=0
    for fmt in $fmts; do
      if [ "$want" != entity ] && [ "$fmt" != "$want" ]; then
        echo "FAIL $f: reads $ref as $fmt, but it is stored as $want"; status=1; bad=1
      fi
    done
    if [ $bad -eq 0 ]; then echo "ok   $f: $ref ($want)"; fi
  done
done
exit $status
