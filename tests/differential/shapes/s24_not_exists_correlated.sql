SELECT t.track_id FROM legacy.tracks t WHERE NOT EXISTS (SELECT * FROM legacy.plays p WHERE p.track_id = t.track_id)
