-- The schema goes with every sql/ object in it; ledger history stays.
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';
-- Uninstalling the tuition workflow is what this rollback is for: the schema and its data go.
-- squawk-ignore ban-drop-schema
DROP SCHEMA tuition CASCADE;
