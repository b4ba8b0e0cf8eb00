SELECT user_id, CASE WHEN ms_played >= 30000 THEN 'stream' ELSE 'skip' END AS kind, COALESCE(country, 'unknown') AS c, EXTRACT(YEAR FROM ts) AS y FROM legacy.plays
