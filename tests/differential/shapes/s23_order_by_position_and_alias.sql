SELECT user_id AS u, MAX(ts) AS last_ts FROM legacy.plays GROUP BY user_id ORDER BY last_ts DESC, u
