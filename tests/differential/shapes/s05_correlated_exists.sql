SELECT u.name FROM legacy.users u WHERE EXISTS (SELECT 1 FROM legacy.plays p WHERE p.user_id = u.user_id AND p.ms_played > 0)
