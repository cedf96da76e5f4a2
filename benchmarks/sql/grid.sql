-- Every (entity, quarterly as-of) with the entity alive at t: established before t and
-- not deregistered before t.
grid AS (
    SELECT e.entity_id, a.t, a.q
    FROM entities e JOIN asof_dates a
        ON e.established < a.t AND (e.deregistered IS NULL OR e.deregistered >= a.t)
)
