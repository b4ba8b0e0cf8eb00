WITH daily AS (SELECT user_id, CAST(ts AS DATE) AS day, SUM(ms_played) AS ms FROM legacy.plays GROUP BY user_id, CAST(ts AS DATE))
SELECT d.user_id, d.day, d.ms, u.name FROM daily d JOIN legacy.users u ON u.user_id = d.user_id
