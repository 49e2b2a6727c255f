-- depends: 0018_check_constants
-- Checks the existing rows against the constraints 0018_check_constants swapped in NOT VALID.
-- VALIDATE CONSTRAINT takes a SHARE UPDATE EXCLUSIVE lock: movements go on during the scan
-- (a transaction of its own, as every migration, so 0018's lock is gone by now).
SET LOCAL lock_timeout = '5s';
-- A scan of ledger.posting: about a second per few million rows here.
SET LOCAL statement_timeout = '3600s';

ALTER TABLE ledger.entry VALIDATE CONSTRAINT entry_status_known;
ALTER TABLE ledger.posting VALIDATE CONSTRAINT posting_kind_known;
ALTER TABLE ledger.posting_archive VALIDATE CONSTRAINT posting_archive_kind_known;
