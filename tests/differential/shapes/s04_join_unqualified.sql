SELECT title, ms_played, duration_ms FROM legacy.plays p JOIN legacy.tracks t ON t.track_id = p.track_id WHERE ms_played > duration_ms / 2
