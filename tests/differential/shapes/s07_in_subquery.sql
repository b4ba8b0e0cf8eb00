SELECT title FROM legacy.tracks WHERE track_id IN (SELECT track_id FROM legacy.plays WHERE country = 'SE')
