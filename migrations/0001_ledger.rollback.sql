-- The schema goes with every sql/ object in it; roles are cluster-wide and stay.
DROP SCHEMA ledger CASCADE;
