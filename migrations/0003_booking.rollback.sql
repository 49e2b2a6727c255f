-- The schema goes with every sql/ object in it.
DROP SCHEMA booking CASCADE;
