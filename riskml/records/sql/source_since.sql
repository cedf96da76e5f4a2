-- The rows of one source known at or after a date: the incremental read.
-- {source}: a quoted table name or a parenthesised query; {known_at}: a quoted column;
-- {since}: an ISO timestamp literal made by riskml from a parsed date.
SELECT * FROM {source} AS src WHERE src.{known_at} >= TIMESTAMP '{since}'
