-- The WHEN of the balance guards (ledger.account, ledger.account_stripe): true for every write
-- that does not come from the posting trigger, which runs at trigger depth 1 or more with its
-- transaction-local marker set (ledger._apply_postings); anything else, the table owner's own
-- UPDATE included, goes through the guard. A call, not the expression itself in each WHEN:
-- PostgreSQL reads a trigger's WHEN back from its stored text and prepares it in every
-- statement that fires the trigger, and for this expression that cost more than a call per
-- row (-26k instructions a transfer, -63k into a striped account; docs/performance.md).
-- Only schema-qualified function calls (no operator looked up through a caller's
-- search_path), and no SET clause: a GUC save and restore for every row would cost more.
CREATE OR REPLACE FUNCTION ledger._outside_posting_trigger()
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN pg_catalog.int4lt(pg_catalog.pg_trigger_depth(), 1)
        OR NOT coalesce(pg_catalog.texteq(pg_catalog.current_setting('pgbalance.applying', true), 'on'),
                        false);
END
$$;
COMMENT ON FUNCTION ledger._outside_posting_trigger() IS
    'Private: true unless the caller is the posting trigger (trigger depth >= 1 and pgbalance.applying on): the WHEN of the account and stripe guards.';
