"""Spark SQL straight over the files, and a temporary view of them."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()

per_user = spark.sql(
    """
    SELECT p.user_id, COUNT(*) AS plays, MAX(p.ts) AS last_play
    FROM orc.`@ROOT@/warehouse/plays` AS p
    WHERE p.user_id IS NOT NULL
    GROUP BY p.user_id
    """
)
emit("sql_over_path", per_user)

spark.read.format("orc").load("@ROOT@/warehouse/plays").createOrReplaceTempView("plays_view")
night = spark.sql("SELECT user_id, hour(ts) AS h FROM plays_view WHERE hour(ts) < 6")
emit("sql_temp_view", night)
