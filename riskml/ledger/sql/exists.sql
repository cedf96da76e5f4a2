-- Whether the ledger table exists yet (NULL when not). {name}: the quoted name as a literal.
SELECT to_regclass({name}) IS NOT NULL AS present
