SELECT track_id, SUM(ms_played) AS ms_played FROM legacy.plays GROUP BY track_id HAVING SUM(ms_played) > 10 ORDER BY ms_played DESC
