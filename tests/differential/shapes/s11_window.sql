SELECT user_id, ts, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn FROM legacy.plays
