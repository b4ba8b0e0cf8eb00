#!/usr/bin/env python3
"""PySpark jobs before and after tern: the behavioural oracle for Spark rewrites.

The jobs under tests/spark/jobs read a plays dataset (ORC, columns user_id,
track_id, ts) in the forms real jobs use, and a tracks table that does not
move. Each job is run on generated data; then the platform team's move is
made for real (plays rewritten as Parquet under a new root with user_id and
ts renamed, the old files deleted), tern rewrites the jobs, and they run
again: every output must be identical, the tracks reads untouched, and tern
must report nothing.

Usage: spark_e2e.py --tern target/debug/tern
"""

import argparse
import json
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SPEC = """version: 1
id: plays-to-lake
title: Move plays to the lake as Parquet
replace:
  - kind: path
    old: {root}/warehouse/plays
    new: {root}/lake/plays
format: {{old: orc, new: parquet}}
columns: {{user_id: account_id, ts: event_time}}
"""


def make_data(spark, root):
    from datetime import datetime, timedelta
    import random

    rnd = random.Random(11)
    start = datetime(2026, 3, 1)
    plays = [
        (rnd.randint(1, 30), rnd.randint(1, 25), start + timedelta(minutes=rnd.randint(0, 60 * 24 * 14)))
        for _ in range(2000)
    ]
    spark.createDataFrame(plays, "user_id int, track_id int, ts timestamp").write.orc(f"{root}/warehouse/plays")
    tracks = [(i, f"track {i}") for i in range(1, 26)]
    spark.createDataFrame(tracks, "track_id int, title string").write.orc(f"{root}/warehouse/tracks")


def migrate(spark, root):
    """The move as the platform team makes it: new root, Parquet, renamed columns."""
    old = spark.read.orc(f"{root}/warehouse/plays")
    new = old.withColumnRenamed("user_id", "account_id").withColumnRenamed("ts", "event_time")
    new.write.parquet(f"{root}/lake/plays")
    shutil.rmtree(f"{root}/warehouse/plays")


def run_jobs(spark, jobs, out):
    out.mkdir(parents=True, exist_ok=True)

    def emit(name, df):
        rows = sorted(json.dumps(r.asDict(), default=str, sort_keys=True) for r in df.collect())
        cols = df.columns
        (out / f"{name}.json").write_text(json.dumps({"columns": cols, "rows": rows}, indent=0))

    for job in sorted(jobs.glob("*.py")):
        runpy.run_path(str(job), init_globals={"emit": emit}, run_name="__main__")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    args = ap.parse_args()
    tern = str(Path(args.tern).resolve())
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("tern-spark-e2e")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    work = Path(tempfile.mkdtemp(prefix="tern-spark-"))
    root = str(work / "data")
    failures = 0
    finished = False
    try:
        jobs = work / "jobs"
        jobs.mkdir()
        for j in sorted((HERE / "jobs").glob("*.py")):
            (jobs / j.name).write_text(j.read_text().replace("@ROOT@", root))
        make_data(spark, root)
        run_jobs(spark, jobs, work / "before")
        migrate(spark, root)
        spec = work / "spec.yaml"
        spec.write_text(SPEC.format(root=root))
        r = subprocess.run(
            [tern, "rewrite", "--json", "--catalog", str(work / "tern.db"), "--spec", str(spec), str(jobs)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            raise SystemExit("tern rewrite failed")
        report = json.loads(r.stdout)
        for u in report.get("unresolved") or []:
            failures += 1
            print(f"FAIL tern reported {u['path']}:{u['line']}: {u['reason']}")
        for j in sorted(jobs.glob("*.py")):
            if "warehouse/tracks" in (HERE / "jobs" / j.name).read_text() and "warehouse/tracks" not in j.read_text():
                failures += 1
                print(f"FAIL {j.name}: the tracks read was touched")
        try:
            run_jobs(spark, jobs, work / "after")
        except Exception as e:  # a job that no longer runs is the failure we test for
            failures += 1
            print(f"FAIL a rewritten job no longer runs: {e}")
        outputs = sorted(p.name for p in (work / "before").glob("*.json"))
        for name in outputs:
            b = (work / "before" / name).read_bytes()
            a = work / "after" / name
            if not a.exists() or a.read_bytes() != b:
                failures += 1
                print(f"FAIL {name}: output differs after the migration")
            else:
                print(f"ok   {name}")
        finished = True
    finally:
        spark.stop()
        if finished and failures == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"left the work tree in {work}")
    print(f"spark: {max(len(outputs) - failures, 0) if finished else 0} passed, {failures if finished else 1} failed")
    sys.exit(1 if failures or not finished else 0)


if __name__ == "__main__":
    main()
