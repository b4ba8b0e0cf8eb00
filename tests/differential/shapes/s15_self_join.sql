SELECT a.user_id, b.user_id AS other FROM legacy.plays a JOIN legacy.plays b ON a.track_id = b.track_id AND a.user_id < b.user_id
