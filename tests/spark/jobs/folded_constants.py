"""Locations built from constants: a root joined to the tail (`BASE + "/plays"`,
`os.path.join`, an f-string), and an option whose default is the dataset. The
tracks location is built from the same root and must keep reading ORC."""
import argparse
import os

from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.getOrCreate()

BASE = "@ROOT@/warehouse"
PLAYS = BASE + "/plays"
TRACKS = os.path.join(BASE, "tracks")

parser = argparse.ArgumentParser()
parser.add_argument("--plays", default=f"{BASE}/plays")
args = parser.parse_args([])

a = spark.read.format("orc").load(PLAYS)
b = spark.read.orc(os.path.join(BASE, "plays"))
c = spark.read.format("orc").load(args.plays)
tracks = spark.read.orc(TRACKS)
users = a.union(b).union(c).groupBy("user_id").agg(F.count("*").alias("plays"))
emit("folded_constants", users.crossJoin(tracks.agg(F.count("*").alias("catalog_size"))))
