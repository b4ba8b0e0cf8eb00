SELECT plays.user_id, plays.ts FROM legacy.plays WHERE plays.ms_played > 30000 ORDER BY plays.ts
