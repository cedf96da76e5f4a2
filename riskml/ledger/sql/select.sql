-- The ledger's history, oldest first. {table}: quoted name; {where}: riskml-made filter.
SELECT * FROM {table} {where} ORDER BY as_of, target, entity_id, model_version
