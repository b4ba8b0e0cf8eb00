SELECT name, signup_ts FROM legacy.users WHERE signup_ts < (SELECT MIN(ts) FROM legacy.plays WHERE legacy.plays.user_id = legacy.users.user_id)
