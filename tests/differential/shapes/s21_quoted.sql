SELECT "p"."user_id", "ts" FROM "legacy"."plays" AS "p" WHERE "p"."ms_played" > 0
