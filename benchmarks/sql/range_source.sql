-- The textbook range join: each grid row to the records of its entity known in
-- [t - longest window, t), one FILTER aggregate per window.
f{i} AS (
    SELECT g.entity_id, g.t, {aggregates}
    FROM grid g
    JOIN (SELECT {key} AS eid, {known_at} AS k, {value} AS v FROM {source}) r
        ON r.eid = g.entity_id AND r.k < g.t AND r.k >= g.t - INTERVAL {longest} DAY
    GROUP BY g.entity_id, g.t
)
