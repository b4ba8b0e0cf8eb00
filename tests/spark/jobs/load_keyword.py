"""load(p, format=...) and options, with a constant for the path."""
from pyspark.sql import SparkSession, functions as F

PLAYS = "@ROOT@/warehouse/plays"

spark = SparkSession.builder.getOrCreate()

df = spark.read.option("mergeSchema", "false").load(PLAYS, format="orc")
late = df.where(F.hour("ts") >= 22).select("user_id", "ts")
emit("load_keyword", late)
