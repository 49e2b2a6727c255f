-- Recomputes every seal of a tenant from the rows it sealed, each chained to the digest
-- recomputed before it: a sealed entry or posting changed, deleted or added (with the guards
-- bypassed) changes that seal's digest and every later one. With p_digest (a digest exported
-- earlier, e.g. printed by pgbalance seal), the recomputed chain must also reproduce it; a
-- rewritten seal table cannot hide a change from that.
CREATE OR REPLACE FUNCTION ledger._verify_chain(p_tenant text, p_digest text)
RETURNS SETOF ledger.verify_result
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_seal record;
    v_from timestamptz := '-infinity';
    v_chain text := '';
    v_found boolean := p_digest IS NULL;
BEGIN
    FOR v_seal IN
        SELECT s.seal_no, s.horizon, s.digest FROM ledger.seal AS s
         WHERE s.tenant_id = p_tenant
         ORDER BY s.seal_no
    LOOP
        SELECT d.digest INTO v_chain
          FROM ledger._seal_digest(p_tenant, v_chain, v_from, v_seal.horizon) AS d;
        IF v_chain <> v_seal.digest THEN
            RETURN QUERY SELECT 'seal_digest_mismatch', p_tenant, v_seal.seal_no::text,
                                format('stored=%s recomputed=%s', v_seal.digest, v_chain);
        END IF;
        v_found := v_found OR v_chain = p_digest;
        v_from := v_seal.horizon;
    END LOOP;
    IF NOT v_found THEN
        RETURN QUERY SELECT 'seal_digest_not_reproduced', p_tenant, p_digest,
                            format('seals=%s last_recomputed=%s', (SELECT count(*) FROM ledger.seal AS s
                                                                    WHERE s.tenant_id = p_tenant), v_chain);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger._verify_chain(text, text) IS
    'Private: recompute a tenant''s seal digests from history; rows for each that differs from the stored one, and one when p_digest (if given) is not reproduced.';
