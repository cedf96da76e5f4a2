-- The tables and views the connected user can read, in the search path's first schema.
SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
