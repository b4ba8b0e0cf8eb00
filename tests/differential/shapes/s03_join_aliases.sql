SELECT p.user_id, t.title, u.name FROM legacy.plays p JOIN legacy.tracks t ON t.track_id = p.track_id JOIN legacy.users u ON u.user_id = p.user_id WHERE p.country = u.country
