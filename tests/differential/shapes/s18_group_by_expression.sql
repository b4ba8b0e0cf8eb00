SELECT country, CAST(ts AS DATE) AS day, COUNT(*) AS plays FROM legacy.plays GROUP BY country, CAST(ts AS DATE) ORDER BY day, plays DESC
