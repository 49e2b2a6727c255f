-- depends: 0017_result_types
-- The CHECK constraints of the tables every movement writes name their allowed values as one
-- array constant instead of a list: the same rule, written shorter. PostgreSQL 15 reads each
-- CHECK of a table back from its stored text in every INSERT or UPDATE statement, at about 35
-- instructions a character; `status IN ('posted', ...)` is stored as an array of four
-- constants (1,049 characters), `status = ANY ('{posted,...}'::text[])` as one (587): 23k
-- instructions less per transfer (docs/performance.md).
--
-- Each constraint is swapped under its name NOT VALID: a short lock and no scan of the large
-- tables here, new rows checked from now on. 0019_check_constants_validate then checks the
-- existing rows (which satisfied the same rule a moment ago) without blocking writes. One
-- subcommand per statement: Citus runs no ADD CONSTRAINT together with another.

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- The rule comes back under its name in the next statement, in this transaction.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.entry DROP CONSTRAINT entry_status_known;
ALTER TABLE ledger.entry ADD CONSTRAINT entry_status_known CHECK (status = ANY ('{posted,pending,voided,reversed}'::text[])) NOT VALID;
-- Likewise.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting DROP CONSTRAINT posting_kind_known;
ALTER TABLE ledger.posting ADD CONSTRAINT posting_kind_known CHECK (kind = ANY ('{B,O,I}'::"char"[])) NOT VALID;
-- Likewise (archived postings keep the posting's rules, in the same words).
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting_archive DROP CONSTRAINT posting_archive_kind_known;
ALTER TABLE ledger.posting_archive ADD CONSTRAINT posting_archive_kind_known CHECK (kind = ANY ('{B,O,I}'::"char"[])) NOT VALID;
