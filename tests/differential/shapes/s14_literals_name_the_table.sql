SELECT user_id FROM legacy.plays WHERE country <> 'legacy.plays' AND track_id LIKE '%plays%'
