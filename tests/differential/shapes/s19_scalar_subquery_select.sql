SELECT t.title, (SELECT COUNT(*) FROM legacy.plays p WHERE p.track_id = t.track_id) AS n FROM legacy.tracks t
