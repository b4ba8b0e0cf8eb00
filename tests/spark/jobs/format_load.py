"""The classic read chain: format, then load, with the path inline."""
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.getOrCreate()

plays = spark.read.format("orc").load("@ROOT@/warehouse/plays")
daily = plays.groupBy(F.to_date("ts").alias("day")).agg(F.count("*").alias("plays"))
emit("format_load", daily)
