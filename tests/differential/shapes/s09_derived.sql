SELECT x.user_id, x.total FROM (SELECT user_id, SUM(ms_played) AS total FROM legacy.plays GROUP BY user_id) AS x WHERE x.total > 1000
