#!/usr/bin/env python3
"""Differential test of tern's SQL rewrites against an independent analyzer.

For every query of a query set and every table it reads, this makes
migrations (the table renamed; one, then every, column it uses renamed; no
column renamed), runs `tern rewrite` on the query, and asks sqlglot, which
knows nothing of tern, whether the output is right:

* sqlglot qualifies the original query against the old schema and binds
  every column reference to the table it reads (through aliases, derived
  tables, CTEs and correlated subqueries);
* applying the migration to those bindings gives what docs/rules.md rule 5 asks
  for: each reference to the migrated table now reads the new name of its
  column from the new table, every other reference is unchanged, and the
  query's output names are the same;
* sqlglot qualifies tern's output against the new schema, and its bindings
  and output names must be exactly those.

Each case is one of: right (the bindings match), reported (tern left the
query whole and said why, so a person looks), or wrong: tern changed the
query and said nothing yet the bindings differ, or left it unchanged
without a word, or changed it and also reported it (half-renamed). Only
"wrong" fails the run. Every case runs twice: once with only the spec, once
with a catalog that knows every table's columns (as `tern plan` would).

    python3 tests/differential/differential.py --tern target/debug/tern
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

HERE = Path(__file__).resolve().parent

# Query sets: folder of queries, schema file, sqlglot dialect, and how a
# table is renamed (its new name from the old one).
SETS = [
    ("tpch", "tpch.schema.json", None),
    ("shapes", "shapes.schema.json", None),
]


def new_table(name):
    """The migrated table's new name, with as many parts as the old."""
    parts = name.split(".")
    if len(parts) == 1:
        return parts[0] + "_v2"
    return ".".join(["lake"] + parts[1:-1] + [parts[-1] + "_v2"])


def nested(flat):
    """sqlglot's schema mapping from {"db.t": {col: type}}."""
    out = {}
    for name, cols in flat.items():
        node = out
        parts = name.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = dict(cols)
    return out


def bindings(sql, schema, dialect):
    """Every column reference, in order, as (table it reads or "derived",
    column), and the output names; raises when sqlglot cannot qualify."""
    tree = sqlglot.parse_one(sql, read=dialect)
    tree = qualify(
        tree,
        schema=nested(schema),
        dialect=dialect,
        quote_identifiers=False,
        validate_qualify_columns=True,
        expand_stars=True,
    )
    refs = []
    for scope in traverse_scope(tree):
        for col in scope.columns:
            refs.append((source(scope, col.table), col.name.lower()))
    names = [n.lower() for n in tree.named_selects] if isinstance(tree, exp.Query) else []
    return refs, names


def source(scope, alias):
    s = scope
    while s is not None:
        src = s.sources.get(alias)
        if isinstance(src, exp.Table):
            return ".".join(p.lower() for p in [src.db, src.name] if p)
        if src is not None:
            return "derived"
        s = s.parent
    return "?"


def tables_of(sql, schema, dialect):
    """Tables of the schema the query reads, in order of first mention."""
    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    seen = []
    for t in tree.find_all(exp.Table):
        name = ".".join(p.lower() for p in [t.db, t.name] if p)
        if name in schema and t.name.lower() not in ctes and name not in seen:
            seen.append(name)
    return seen


def migrations(sql, table, schema, dialect):
    """Renames for one table: none, the first column the query uses, and
    every column it uses."""
    refs, _ = bindings(sql, schema, dialect)
    used = []
    for t, c in refs:
        if t == table and c not in used:
            used.append(c)
    out = [{}]
    if used:
        out.append({used[0]: "x_" + used[0]})
    if len(used) > 1:
        out.append({c: "x_" + c for c in used})
    return out


def spec_text(table, columns, catalog):
    lines = [
        "version: 1",
        "id: differential",
        "title: Differential case",
    ]
    if catalog:
        lines.append("dataset: {from: %s}" % dataset_id(table))
    lines += [
        "replace:",
        "  - kind: table",
        "    old: %s" % table,
        "    new: %s" % new_table(table),
    ]
    if columns:
        lines.append("columns: {%s}" % ", ".join("%s: %s" % kv for kv in columns.items()))
    return "\n".join(lines) + "\n"


def dataset_id(table):
    return "t-" + table.replace(".", "-").replace("_", "-")


def catalog_yaml(schema):
    docs = []
    for table, cols in schema.items():
        docs.append(
            "\n".join(
                [
                    "apiVersion: backstage.io/v1alpha1",
                    "kind: Resource",
                    "metadata:",
                    "  name: %s" % dataset_id(table),
                    "  annotations:",
                    "    tern.dev/tables: %s" % table,
                    "    tern.dev/schema: '%s'" % ", ".join("%s: %s" % kv for kv in cols.items()),
                    "spec: {type: dataset, owner: group:default/data-platform}",
                ]
            )
        )
    return "\n---\n".join(docs) + "\n"


def run_tern(tern, work, sql, spec, catalog_db):
    tree = work / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "q.sql").write_text(sql)
    (work / "spec.yaml").write_text(spec)
    cmd = [tern, "rewrite", "--spec", str(work / "spec.yaml"), str(tree), "--json"]
    env = dict(os.environ)
    env["TERN_CATALOG"] = "sqlite:" + str(catalog_db)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("tern failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return (tree / "q.sql").read_text(), json.loads(p.stdout)


def judge(sql, out, report, table, columns, schema, dialect):
    """right, reported, or wrong with why."""
    if report["unresolved"]:
        if out != sql:
            return "wrong", "changed and reported: half-renamed"
        return "reported", report["unresolved"][0]["reason"]
    old_refs, old_names = bindings(sql, schema, dialect)
    new_name = new_table(table)
    expected = [
        (new_name, columns.get(c, c)) if t == table else (t, c) for t, c in old_refs
    ]
    new_schema = {k: v for k, v in schema.items() if k != table}
    new_schema[new_name] = {columns.get(c, c): ty for c, ty in schema[table].items()}
    if out == sql:
        return "wrong", "left unchanged, with no finding"
    try:
        got_refs, got_names = bindings(out, new_schema, dialect)
    except Exception as e:  # sqlglot could not read or qualify the output
        return "wrong", "the output does not qualify against the new schema: %s" % e
    if got_names != old_names:
        return "wrong", "output names changed: %s -> %s" % (old_names, got_names)
    if got_refs != expected:
        diff = [(e, g) for e, g in zip(expected, got_refs) if e != g][:3]
        if len(got_refs) != len(expected):
            diff.append(("%d references" % len(expected), "%d" % len(got_refs)))
        return "wrong", "bindings differ (expected, got): %s" % diff
    return "right", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tern", default="target/debug/tern")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    ap.add_argument("--verbose", action="store_true", help="print every case")
    a = ap.parse_args()
    tern = str(Path(a.tern).resolve())
    totals = {}
    wrong = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, schema_file, dialect in SETS:
            folder = HERE / name
            if not folder.is_dir():
                continue
            schema = json.loads((HERE / schema_file).read_text())
            db = tmp / ("%s.db" % name)
            (tmp / ("%s.yaml" % name)).write_text(catalog_yaml(schema))
            subprocess.run(
                [tern, "catalog", "import", str(tmp / ("%s.yaml" % name))],
                check=True,
                capture_output=True,
                env=dict(os.environ, TERN_CATALOG="sqlite:" + str(db)),
            )
            empty = tmp / "empty.db"
            for qf in sorted(folder.glob("*.sql")):
                sql = qf.read_text()
                for table in tables_of(sql, schema, dialect):
                    for columns in migrations(sql, table, schema, dialect):
                        for mode, catalog_db in (("spec only", empty), ("with catalog", db)):
                            key = (name, mode)
                            t = totals.setdefault(key, {"right": 0, "reported": 0, "wrong": 0})
                            work = tmp / "case"
                            if work.exists():
                                subprocess.run(["rm", "-rf", str(work)], check=True)
                            spec = spec_text(table, columns, mode == "with catalog")
                            try:
                                out, report = run_tern(tern, work, sql, spec, catalog_db)
                                verdict, why = judge(sql, out, report, table, columns, schema, dialect)
                            except Exception as e:
                                verdict, why = "wrong", "harness: %s" % e
                                out = ""
                            t[verdict] += 1
                            label = "%s/%s [%s] %s -> %s %s" % (
                                name, qf.name, mode, table, new_table(table), columns or "{}")
                            if verdict == "wrong":
                                wrong.append((label, why, out))
                            if a.verbose:
                                print("%-8s %s %s" % (verdict, label, why))
    summary = []
    for (name, mode), t in sorted(totals.items()):
        n = sum(t.values())
        summary.append({"set": name, "mode": mode, "cases": n, **t,
                        "right_or_reported": round((t["right"] + t["reported"]) / n, 4) if n else 1.0})
    if a.json:
        print(json.dumps({"summary": summary, "wrong": [w[:2] for w in wrong]}, indent=2))
    else:
        for s in summary:
            print("%-7s %-13s %4d cases: %4d right, %4d reported, %3d wrong (right or reported: %.1f%%)" % (
                s["set"], s["mode"], s["cases"], s["right"], s["reported"], s["wrong"],
                100 * s["right_or_reported"]))
        for label, why, out in wrong:
            print("\nWRONG %s\n  %s\n%s" % (label, why, "\n".join("  | " + l for l in out.splitlines())))
    right = sum(s["right"] for s in summary)
    reported = sum(s["reported"] for s in summary)
    print("differential: %d passed, %d failed" % (right + reported, len(wrong)))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
