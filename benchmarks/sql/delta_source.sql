-- Deltas: each record adds +1/+amount at the first quarterly as-of after it is known
-- (r{i} -> d{i}) and -1/-amount at the first as-of after it leaves each window; a ROWS
-- running sum per entity (c{i}) then holds every window at every quarter.
r{i} AS (SELECT {key} AS eid, {known_at}::DATE AS k, {value} AS v FROM {source}),
d{i} AS (
    SELECT eid, q, {sums}
    FROM ({deltas}) u(eid, q, {columns})
    WHERE q <= {last_quarter}
    GROUP BY eid, q
),
c{i} AS (
    SELECT eid, q, {running}
    FROM d{i}
    WINDOW w AS (PARTITION BY eid ORDER BY q ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
