SELECT user_id, country FROM legacy.plays UNION ALL SELECT user_id, country FROM legacy.users ORDER BY user_id
