# Shared by the benchmarks: a template consumer repo (20 files, one naming
# the dataset by path and by table) and make_fleet DIR, which copies it N
# times with a Backstage catalog and a spec. Needs $w (a scratch dir) and $N.
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@b

t=$w/template
mkdir -p "$t/src" "$t/conf"
for i in $(seq 1 19); do
  printf 'object Job%s {\n  // unrelated code %s\n  val table = "legacy.tracks"\n}\n' "$i" "$i" > "$t/src/Job$i.scala"
done
printf 'input:\n  path: hdfs://prod-nn:8020/warehouse/plays\n  table: legacy.plays\n' > "$t/conf/app.yaml"
printf 'verify: "true"\n' > "$t/.tern.yaml"
git -C "$t" init -q -b main && git -C "$t" add -A && git -C "$t" commit -qm init

make_fleet() {
  rm -rf "$1" && mkdir -p "$1/repos"
  {
    printf 'apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: hdfs-plays}\nspec: {type: dataset, owner: data}\n'
    for i in $(seq 1 "$N"); do
      cp -r "$t" "$1/repos/c$i"
      printf -- '---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c%s\n  annotations: {backstage.io/source-location: "dir:./repos/c%s"}\nspec: {owner: insights, dependsOn: [resource:default/hdfs-plays]}\n' "$i" "$i"
    done
  } > "$1/catalog-info.yaml"
  cat > "$1/spec.yaml" <<SPEC
version: 1
id: bench
title: Move plays
dataset: {from: hdfs-plays}
replace:
  - {kind: path, old: hdfs://prod-nn:8020/warehouse/plays, new: gs://lake/plays}
  - {kind: table, old: legacy.plays, new: lake.plays}
approval: auto
SPEC
}

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { local s; s=$(now); "$@" >/dev/null; sub "$(now)" "$s"; }

