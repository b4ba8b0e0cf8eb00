"""A config mapping in code: the dict's format follows its path."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()

SOURCES = {
    "plays": {"path": "@ROOT@/warehouse/plays", "format": "orc"},
    "tracks": {"path": "@ROOT@/warehouse/tracks", "format": "orc"},
}


def read(name):
    conf = SOURCES[name]
    return spark.read.format(conf["format"]).load(conf["path"])


top = read("plays").join(read("tracks"), "track_id").groupBy("title").count()
emit("options_dict", top)
