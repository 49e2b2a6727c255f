-- depends: 0006_perf_stripes 0006_perf_space_layout
-- Movement engine (docs/performance.md): ledger.posting loses its two foreign keys.
--
-- A foreign key is checked row by row: two postings per transfer meant four index lookups
-- through SPI and a row lock written to the WAL on the new entry, about a sixth of the CPU of
-- a transfer. What they guaranteed stays guaranteed, once per statement:
--   - posting -> account: the posting trigger (ledger._apply_postings), which updates every
--     account a statement posts to, refuses a posting whose account it does not find (PB009),
--     and accounts are never deleted (guard_account_delete / guard_account_truncate, PB009);
--   - posting -> entry: postings are inserted by the kernel's movements right after their
--     entry rows, entries are never deleted (guard_entry_history), and the one delete that
--     is let through (a failed batch item's own entry) is refused for an entry with postings
--     (guard_entry_discard). ledger.verify checks entries against their postings.
--
-- ledger._post now returns one row instead of a set and ledger._apply_legs takes whole
-- movements: their old shapes are dropped here and sql/ creates the new ones right after
-- (`pgbalance migrate` runs both; movements fail in between, so migrate between calls).

-- Fail fast rather than queue behind a long transaction while holding locks (see .squawk.toml).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- The posting trigger checks accounts for a whole statement (see above).
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting DROP CONSTRAINT posting_account_fkey;
-- Postings follow their entry in the same call; entries with postings are never deleted.
-- squawk-ignore ban-drop-constraint
ALTER TABLE ledger.posting DROP CONSTRAINT posting_entry_fkey;

-- Private (no client can call it); sql/ creates it again returning one row instead of a set.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger._post(text, text, text[], bigint[], jsonb, boolean, timestamptz, boolean, boolean);
-- Private; sql/ creates its set-based successor (whole movements) under the same name.
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS ledger._apply_legs(text, bigint, text[], bigint[], boolean, boolean);
