-- Called at the end of every install (`pgbalance migrate`, the SQL bundle), in the same
-- transaction as the sql/ objects: re-running the same release adds nothing.
CREATE OR REPLACE FUNCTION ledger._record_release(p_release text, p_last_migration text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM ledger.version(NULL) AS v
                WHERE v.release = p_release AND v.last_migration = p_last_migration) THEN
        RETURN false;
    END IF;
    INSERT INTO ledger.release_history (release, last_migration)
    VALUES (p_release, p_last_migration);
    RETURN true;
END
$$;
COMMENT ON FUNCTION ledger._record_release(text, text) IS
    'Private (owner, at install): add a release_history row unless the newest already names this release and migration; true when it did.';
