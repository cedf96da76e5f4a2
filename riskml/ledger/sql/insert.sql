-- Append the staged rows; rows whose key is already in the ledger are left as they are
-- (a rerun adds nothing). {table}, {stage}: quoted names; {columns}: quoted column list.
INSERT INTO {table} ({columns})
SELECT {columns} FROM {stage}
ON CONFLICT (entity_id, as_of, target, model_version) DO NOTHING
