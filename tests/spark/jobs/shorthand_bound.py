"""spark.read.orc(p) with the path bound in a function; another function's
`path` names the tracks table and must keep reading ORC."""
from pyspark.sql import SparkSession, functions as F

spark = SparkSession.builder.getOrCreate()


def plays_per_user():
    path = "@ROOT@/warehouse/plays"
    df = spark.read.orc(path)
    return df.groupBy("user_id").agg(F.countDistinct("track_id").alias("tracks"))


def tracks():
    path = "@ROOT@/warehouse/tracks"
    return spark.read.orc(path)


joined = plays_per_user().crossJoin(tracks().agg(F.count("*").alias("catalog_size")))
emit("shorthand_bound", joined)
