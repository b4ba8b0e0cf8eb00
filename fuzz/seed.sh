#!/usr/bin/env bash
# Seeds each fuzz target's corpus with the fixtures' before/ files, so the
# fuzzer starts from inputs that name the dataset. Run from anywhere:
#   fuzz/seed.sh && cd fuzz && cargo +nightly fuzz run -O sql corpus/sql -- -max_total_time=180
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../crates/rewrite/tests/fixtures
cd "$here"
for t in sql python scala java kotlin text config dbt; do mkdir -p "corpus/$t"; done
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  case $f in
    *.sql | *.hql) cp "$f" "corpus/sql/s$n" ;;
    *.py) cp "$f" "corpus/python/p$n" ;;
    *.scala) cp "$f" "corpus/scala/s$n" ;;
    *.java) cp "$f" "corpus/java/j$n" ;;
    *.kt) cp "$f" "corpus/kotlin/k$n" ;;
    *.md | *.txt | *.sh) cp "$f" "corpus/text/t$n" ;;
    # The config target's first byte picks the format (see fuzz_targets/config.rs).
    *.yaml | *.yml) { printf '\0'; cat "$f"; } >"corpus/config/c$n" ;;
    *.json) { printf '\1'; cat "$f"; } >"corpus/config/c$n" ;;
    *.toml) { printf '\2'; cat "$f"; } >"corpus/config/c$n" ;;
    *.conf) { printf '\3'; cat "$f"; } >"corpus/config/c$n" ;;
    *.properties) { printf '\4'; cat "$f"; } >"corpus/config/c$n" ;;
    *.tf) { printf '\5'; cat "$f"; } >"corpus/config/c$n" ;;
  esac
done < <(find "$fixtures" -path '*/before/*' -type f -print0)
# The dbt target takes a model and a sources file joined by a 0xFF byte.
for c in "$fixtures"/dbt-*/; do
  m=$(find "$c/before" -name '*.sql' | head -n1)
  y=$(find "$c/before" -name '*.yml' | head -n1)
  {
    if [ -n "$m" ]; then cat "$m"; fi
    printf '\377'
    if [ -n "$y" ]; then cat "$y"; fi
  } >"corpus/dbt/$(basename "$c")"
done
for t in sql python scala java kotlin text config dbt; do echo "$t: $(ls "corpus/$t" | wc -l) seeds"; done
