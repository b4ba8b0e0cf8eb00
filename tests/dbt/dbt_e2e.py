#!/usr/bin/env python3
"""dbt on DuckDB, before and after tern: the independent oracle for dbt rewrites.

The project under tests/dbt/project is built with `dbt build` (seeds, models,
data tests, unit tests) on generated data. Then, for each spec in
tests/dbt/specs in order, the warehouse is migrated as a platform team would
(new tables written, renamed columns and all, old ones dropped), tern rewrites
a copy of the project, and `dbt build` must pass again with every model and
seed holding exactly the rows it held before. tern must report nothing for
these standard migrations.

Usage: dbt_e2e.py --tern target/debug/tern
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import yaml

HERE = Path(__file__).resolve().parent


def load_data(con):
    """Deterministic raw tables: a shop and a music service's events."""
    rnd = random.Random(7)
    con.execute("create schema raw; create schema raw_events")
    con.execute(
        "create table raw.customers (id integer, name varchar, country_code varchar)"
    )
    countries = ["SE", "DE", "BR", "JP", "XX"]
    con.executemany(
        "insert into raw.customers values (?, ?, ?)",
        [(i, f"customer {i}", rnd.choice(countries)) for i in range(1, 41)],
    )
    con.execute(
        "create table raw.orders (id integer, customer_id integer, ordered_at timestamp,"
        " amount_cents integer, status varchar)"
    )
    start = datetime(2026, 1, 1)
    orders = [
        (
            i,
            rnd.randint(1, 40),
            start + timedelta(hours=rnd.randint(0, 24 * 90)),
            rnd.randint(0, 50_000),
            rnd.choice(["placed", "shipped", "returned", "test"]),
        )
        for i in range(1, 301)
    ]
    con.executemany("insert into raw.orders values (?, ?, ?, ?, ?)", orders)
    con.execute(
        "create table raw.payments (id integer, order_id integer, method varchar, amount_cents integer)"
    )
    con.executemany(
        "insert into raw.payments values (?, ?, ?, ?)",
        [
            (i, o[0], rnd.choice(["card", "invoice"]), o[3])
            for i, o in enumerate(orders, 1)
            if rnd.random() < 0.8
        ],
    )
    con.execute(
        "create table raw_events.sessions (user_id integer, started_at timestamp, ended_at timestamp)"
    )
    con.execute("create table raw_events.plays (user_id integer, track_id integer, ts timestamp)")
    sessions, plays = [], []
    for u in range(1, 21):
        for _ in range(3):
            s = start + timedelta(minutes=rnd.randint(0, 60 * 24 * 30))
            sessions.append((u, s, s + timedelta(minutes=45)))
            for _ in range(rnd.randint(1, 6)):
                plays.append((u, rnd.randint(1, 50), s + timedelta(minutes=rnd.randint(0, 44))))
    con.executemany("insert into raw_events.sessions values (?, ?, ?)", sessions)
    con.executemany("insert into raw_events.plays values (?, ?, ?)", plays)


def migrate(con, spec):
    """Writes each table where the spec says, with the renamed columns, and drops the old."""
    renames = spec.get("columns") or {}
    for r in spec["replace"]:
        old, new = r["old"], r["new"]
        schema = new.rsplit(".", 1)[0]
        con.execute(f"create schema if not exists {schema}")
        cols = [c[0] for c in con.execute(f"describe {old}").fetchall()]
        select = ", ".join(f"{c} as {renames[c]}" if c in renames else c for c in cols)
        con.execute(f"create table {new} as select {select} from {old}")
        con.execute(f"drop table {old}")


def dbt(project, db, *args):
    env = dict(os.environ, DBT_DUCKDB_PATH=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    r = subprocess.run(
        ["dbt", "--no-use-colors", *args, "--profiles-dir", str(project), "--project-dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        sys.stdout.write(r.stdout[-6000:] + r.stderr[-2000:])
        raise SystemExit(f"dbt {' '.join(args)} failed in {project}")
    return r.stdout


def relations(project):
    """Every model and seed the project builds, as schema.name."""
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    return sorted(
        f"{n['schema']}.{n.get('alias') or n['name']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed")
    )


def rows(db, project):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            rel: sorted(map(repr, con.execute(f"select * from {rel}").fetchall()))
            for rel in relations(project)
        }
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    args = ap.parse_args()
    tern = str(Path(args.tern).resolve())
    work = Path(tempfile.mkdtemp(prefix="tern-dbt-"))
    failures = 0
    finished = False
    try:
        project = work / "project"
        shutil.copytree(HERE / "project", project)
        db = work / "warehouse.duckdb"
        con = duckdb.connect(str(db))
        load_data(con)
        con.close()
        dbt(project, db, "build")
        before = rows(db, project)
        print(f"dbt: built {len(before)} relations before any migration")
        for spec_path in sorted((HERE / "specs").glob("*.yaml")):
            spec = yaml.safe_load(spec_path.read_text())
            con = duckdb.connect(str(db))
            migrate(con, spec)
            con.close()
            r = subprocess.run(
                [tern, "rewrite", "--json", "--catalog", str(work / "tern.db"), "--spec", str(spec_path), str(project)],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                print(r.stdout, r.stderr)
                raise SystemExit(f"tern rewrite failed for {spec_path.name}")
            report = json.loads(r.stdout)
            unresolved = report.get("unresolved") or []
            name = spec_path.stem
            if unresolved:
                failures += 1
                print(f"FAIL {name}: tern reported what it should have rewritten:")
                for u in unresolved:
                    print(f"  {u['path']}:{u['line']}: {u['reason']}")
            dbt(project, db, "build")
            after = rows(db, project)
            changed = [rel for rel in before if before[rel] != after.get(rel)]
            if changed or set(after) != set(before):
                failures += 1
                print(f"FAIL {name}: rows differ in {changed or sorted(set(after) ^ set(before))}")
            else:
                print(f"ok   {name}: dbt build passed, {len(after)} relations hold the same rows")
            again = subprocess.run(
                [tern, "rewrite", "--json", "--catalog", str(work / "tern.db"), "--spec", str(spec_path), str(project)],
                capture_output=True,
                text=True,
            )
            if again.returncode != 0 or json.loads(again.stdout).get("files"):
                failures += 1
                print(f"FAIL {name}: a second rewrite changed the project again: {again.stdout[:2000]}")
        finished = True
    finally:
        if finished and failures == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"left the work tree in {work}")
    total = len(list((HERE / "specs").glob("*.yaml")))
    print(f"dbt: {max(total - failures, 0)} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
