//! The demo fleet: fifteen consumer repositories of the `plays` dataset, one or
//! more of every kind docs/rules.md covers, each with a runnable verification.

/// One consumer repository: id, owner team, files (path, content), and the
/// verification arguments after `sh ci/check.sh STORAGE`.
pub struct DemoRepo {
    pub id: &'static str,
    pub owner: &'static str,
    pub kind: &'static str,
    pub files: &'static [(&'static str, &'static str)],
    /// Extra verification after the storage check (a repo's own tests).
    pub verify_extra: &'static str,
    /// Only these files are covered by the repo's tests (empty: all).
    pub covered: &'static str,
}

pub const REPOS: &[DemoRepo] = &[
    DemoRepo {
        id: "plays-daily",
        owner: "insights",
        kind: "Spark (Scala)",
        files: &[
            ("build.sbt", "name := \"plays-daily\"\nscalaVersion := \"2.13.14\"\nlibraryDependencies += \"org.apache.spark\" %% \"spark-sql\" % \"3.5.1\" % \"provided\"\n"),
            (
                "src/main/scala/com/example/PlaysDaily.scala",
                r#"package com.example

import org.apache.spark.sql.SparkSession

/** Daily play counts per track. Reads legacy.plays (the HDFS copy at /warehouse/plays). */
object PlaysDaily {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder.appName("plays-daily").getOrCreate()
    val day = args(0)
    spark.table("legacy.plays")
      .where(s"date = '$day'")
      .groupBy("track_id")
      .count()
      .write.mode("overwrite")
      .parquet(s"gs://reports-prod/plays-daily/date=$day")
  }
}
"#,
            ),
        ],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-sessions",
        owner: "insights",
        kind: "Spark (Python)",
        files: &[
            ("pyproject.toml", "[project]\nname = \"plays-sessions\"\nversion = \"1.4.0\"\ndependencies = [\"pyspark==3.5.1\"]\n"),
            (
                "jobs/sessions.py",
                r#"from pyspark.sql import SparkSession

QUERY = """
SELECT user_id, ts, track_id
FROM LEGACY.PLAYS
WHERE date = '{day}'
"""


def main(day):
    spark = SparkSession.builder.appName("plays-sessions").getOrCreate()
    plays = spark.sql(QUERY.format(day=day))
    sessions = plays.groupBy("user_id").count()
    sessions.write.mode("overwrite").parquet(f"gs://reports-prod/sessions/date={day}")
"#,
            ),
        ],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-enricher",
        owner: "insights",
        kind: "Spark (Java)",
        files: &[
            ("pom.xml", "<project>\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>com.example</groupId>\n  <artifactId>plays-enricher</artifactId>\n  <version>2.1.0</version>\n</project>\n"),
            (
                "src/main/java/com/example/Enricher.java",
                r#"package com.example;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public final class Enricher {
    static final String PLAYS = "hdfs://prod-nn:8020/warehouse/plays";

    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("plays-enricher").getOrCreate();
        Dataset<Row> plays = spark.read().format("avro").load(PLAYS + "/date=" + args[0]);
        Dataset<Row> tracks = spark.table("legacy.tracks");
        plays.join(tracks, "track_id").write().mode("overwrite").parquet("gs://reports-prod/enriched");
    }
}
"#,
            ),
        ],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-stream",
        owner: "streaming",
        kind: "Flink SQL",
        files: &[(
            "sql/plays_source.sql",
            r#"-- Replays the plays history into the live topic.
CREATE TABLE plays_history (
  user_id STRING,
  track_id STRING,
  ts TIMESTAMP(3)
) WITH (
  'connector' = 'filesystem',
  'path' = 'hdfs://prod-nn:8020/warehouse/plays',
  'format' = 'avro'
);

INSERT INTO plays_live SELECT user_id, track_id, ts FROM plays_history;
"#,
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-reports",
        owner: "bi",
        kind: "SQL",
        files: &[(
            "queries/top_tracks.sql",
            "-- Top tracks of the week, by plays.\nSELECT t.title, COUNT(*) AS plays\nFROM legacy.plays p\nJOIN legacy.tracks t ON t.track_id = p.track_id\nWHERE p.date >= CURRENT_DATE - INTERVAL '7' DAY\nGROUP BY t.title\nORDER BY plays DESC\nLIMIT 100;\n",
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-airflow",
        owner: "data-platform",
        kind: "Airflow",
        files: &[(
            "dags/plays_rollup.py",
            r#"from datetime import datetime

from airflow import DAG
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.apache.hdfs.sensors.web_hdfs import WebHdfsSensor

with DAG("plays_rollup", start_date=datetime(2026, 1, 1), schedule="@daily") as dag:
    landed = WebHdfsSensor(
        task_id="plays_landed",
        filepath="hdfs://prod-nn:8020/warehouse/plays/date={{ ds }}/_SUCCESS",
    )
    rollup = HiveOperator(
        task_id="rollup",
        hql="""
            INSERT OVERWRITE TABLE legacy.plays_daily PARTITION (date = '{{ ds }}')
            SELECT track_id, COUNT(*) FROM `legacy`.`plays`
            WHERE date = '{{ ds }}' GROUP BY track_id
        """,
    )
    landed >> rollup
"#,
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-dbt",
        owner: "bi",
        kind: "dbt",
        files: &[
            ("dbt_project.yml", "name: plays_marts\nversion: '1.0'\nprofile: warehouse\nmodel-paths: [models]\n"),
            (
                "models/staging/stg_plays.sql",
                "{{ config(materialized='view') }}\n\nselect\n    user_id,\n    track_id,\n    ts\nfrom \"legacy\".\"plays\"\nwhere ts >= '{{ var(\"start\", \"2026-01-01\") }}'\n",
            ),
        ],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-config",
        owner: "insights",
        kind: "YAML config",
        files: &[(
            "config/app.yaml",
            "# Recommendations service input\ninput:\n  plays: /warehouse/plays\n  partitions: daily\noutput:\n  path: gs://reports-prod/recs\n",
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-hocon",
        owner: "streaming",
        kind: "HOCON config",
        files: &[(
            "src/main/resources/application.conf",
            "plays-export {\n  source = \"hdfs://prod-nn:8020/warehouse/plays\"\n  # the old table, kept for the audit job\n  audit-table = legacy.plays\n  parallelism = 8\n}\n",
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-props",
        owner: "finance",
        kind: ".properties (CRLF)",
        files: &[(
            "conf/royalties.properties",
            "# Royalties batch\r\ninput.path=/warehouse/plays\r\ninput.table=legacy.plays\r\noutput.path=gs://reports-prod/royalties\r\n",
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-grants",
        owner: "data-platform",
        kind: "Terraform",
        files: &[(
            "infra/grants.tf",
            r#"locals {
  plays_location = "hdfs://prod-nn:8020/warehouse/plays"
}

resource "ranger_policy" "insights_read_plays" {
  name     = "insights-read-plays"
  resource = local.plays_location
  groups   = ["insights", "bi"]
  access   = ["read"]
}
"#,
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-catalog",
        owner: "bi",
        kind: "catalog-info.yaml",
        files: &[(
            "catalog-info.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: plays-dashboard\nspec:\n  type: website\n  owner: group:default/bi\n  lifecycle: production\n  dependsOn:\n    - resource:default/hdfs-plays\n    - resource:default/tracks\n",
        )],
        verify_extra: "",
        covered: "",
    },
    DemoRepo {
        id: "plays-snapshot",
        owner: "finance",
        kind: "YAML + golden test",
        files: &[
            ("config/export.yaml", "export:\n  from: hdfs://prod-nn:8020/warehouse/plays\n  to: gs://reports-prod/finance-export\n"),
            (
                "test/golden.sh",
                "#!/bin/sh\n# Pins the export config: any change must be reviewed by finance.\nexpected=$(cat test/golden.sum)\nactual=$(cksum < config/export.yaml)\nif [ \"$actual\" != \"$expected\" ]; then\n  echo \"FAIL config/export.yaml changed (cksum $actual, pinned $expected); finance must re-pin it\"\n  exit 1\nfi\necho 'ok   golden config'\n",
            ),
        ],
        verify_extra: " && sh test/golden.sh",
        covered: "",
    },
    DemoRepo {
        id: "plays-backfill",
        owner: "insights",
        kind: "Python (run-time path)",
        files: &[
            ("jobs/daily.py", "PLAYS = \"hdfs://prod-nn:8020/warehouse/plays\"\n\n\ndef source(day):\n    return f\"{PLAYS}/date={day}\"\n"),
            (
                "jobs/backfill.py",
                "def source(suffix):\n    # The suffix picks a snapshot, e.g. \"_2019\" for the frozen copy.\n    return f\"hdfs://prod-nn:8020/warehouse/plays{suffix}\"\n",
            ),
        ],
        verify_extra: "",
        covered: " jobs/daily.py",
    },
    DemoRepo {
        id: "plays-archive-reader",
        owner: "finance",
        kind: "near-miss names",
        files: &[(
            "jobs/archive.sql",
            "-- Reads the frozen archive, not the live plays dataset.\nSELECT * FROM legacy.plays_daily;\n-- files under hdfs://prod-nn:8020/warehouse/plays_archive/\n",
        )],
        verify_extra: "",
        covered: "",
    },
];

/// (path under storage/, content): the simulated storage the checks consult.
pub const STORAGE: &[(&str, &str)] = &[
    ("hdfs/prod-nn/warehouse/plays/_FORMAT", "avro"),
    (
        "hdfs/prod-nn/warehouse/plays/RETIRED",
        "the HDFS copy of plays is retired; read gs://lakehouse-prod/plays",
    ),
    ("hdfs/prod-nn/warehouse/plays_archive/_FORMAT", "avro"),
    ("gs/lakehouse-prod/plays/_FORMAT", "parquet"),
    ("gs/reports-prod/_FORMAT", "parquet"),
    ("tables/legacy/plays/_FORMAT", "avro"),
    (
        "tables/legacy/plays/RETIRED",
        "legacy.plays is retired; read lake.plays",
    ),
    ("tables/legacy/plays_daily/_FORMAT", "parquet"),
    ("tables/legacy/tracks/_FORMAT", "parquet"),
    ("tables/lake/plays/_FORMAT", "parquet"),
    ("entities/hdfs-plays/_FORMAT", "entity"),
    (
        "entities/hdfs-plays/RETIRED",
        "resource:default/hdfs-plays is retired; depend on resource:default/lake-plays",
    ),
    ("entities/lake-plays/_FORMAT", "entity"),
    ("entities/tracks/_FORMAT", "entity"),
];

pub const SPEC: &str = r#"version: 1
id: plays-to-lakehouse
title: Move plays to the lakehouse
description: |
  The HDFS copy of `plays` is retired on 2027-01-31. This change points the
  job at the lakehouse copy (`gs://lakehouse-prod/plays`, table `lake.plays`),
  which holds the same rows as Parquet.
dataset:
  from: hdfs-plays
  to: lake-plays
  retire_on: 2027-01-31
replace:
  - kind: path
    old: [hdfs://prod-nn:8020/warehouse/plays, /warehouse/plays]
    new: gs://lakehouse-prod/plays
  - kind: table
    old: legacy.plays
    new: lake.plays
format: {old: avro, new: parquet}
verify:
  timeout: 2m
rollout:
  waves: [1, "100%"]              # a canary first, then everyone else
  max_in_flight: 8
  pause_when: {failed_ratio: 0.25, min_failed: 4}
approval: auto
"#;

pub const TEAMS: &[(&str, &[&str])] = &[
    ("data-platform", &["dana"]),
    ("insights", &["alice", "ines"]),
    ("streaming", &["bob"]),
    ("bi", &["carol"]),
    ("finance", &["frank"]),
];
