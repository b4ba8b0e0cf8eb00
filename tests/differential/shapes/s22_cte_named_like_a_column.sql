WITH user_id AS (SELECT user_id FROM legacy.users) SELECT p.ts FROM legacy.plays p WHERE p.user_id IN (SELECT user_id FROM user_id)
