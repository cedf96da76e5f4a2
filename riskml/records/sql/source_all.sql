-- Every row of one source. {source} is a quoted table name or a parenthesised query.
SELECT * FROM {source} AS src
