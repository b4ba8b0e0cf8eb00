select user_id, track_id, ts
from {{ source('events', 'plays') }}
