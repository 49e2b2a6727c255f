-- The schema goes with every sql/ object in it.
DROP SCHEMA wallet CASCADE;
