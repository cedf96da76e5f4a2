-- The windowed-aggregate subset as one query: the alive grid, one block of CTEs per
-- source (range_source.sql or delta_source.sql), and their columns joined onto the grid.
WITH {ctes}
SELECT {columns}
FROM grid g {joins}
