select
    s.user_id,
    count(distinct p.track_id) as tracks,
    count(*) as plays
from {{ ref('stg_sessions') }} as s
join {{ ref('stg_plays') }} as p
  on p.user_id = s.user_id and p.ts between s.started_at and s.ended_at
group by s.user_id
