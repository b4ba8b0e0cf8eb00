SELECT u.user_id, u.name FROM legacy.users u LEFT JOIN legacy.plays p ON p.user_id = u.user_id WHERE p.user_id IS NULL
