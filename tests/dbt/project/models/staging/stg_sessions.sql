select user_id, started_at, ended_at
from {{ source('events', 'sessions') }}
