SELECT legacy.plays.user_id, COUNT(*) AS n FROM legacy.plays GROUP BY legacy.plays.user_id
