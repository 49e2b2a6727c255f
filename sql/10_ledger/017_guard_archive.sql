-- Archiving (ledger.archive) is a move: a posting leaves ledger.posting only when the
-- identical row is in ledger.posting_archive, and enters the archive only while the same
-- row is in ledger.posting and sealed (before a seal's horizon). Row triggers: only the move
-- inserts into the archive or deletes from ledger.posting, so no movement pays for them.
CREATE OR REPLACE FUNCTION ledger._guard_archive()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_ARGV[0] = 'posting' THEN
        IF NOT EXISTS (SELECT FROM ledger.posting_archive AS a
                        WHERE a.tenant_id = OLD.tenant_id AND a.entry_id = OLD.entry_id
                          AND a.posting_no = OLD.posting_no AND a.account_id = OLD.account_id
                          AND a.kind = OLD.kind AND a.amount = OLD.amount
                          AND a.posted_at = OLD.posted_at) THEN
            PERFORM ledger._raise('PB009', 'ledger history is immutable: DELETE on ledger.posting',
                format('operation=DELETE table=ledger.posting entry_id=%s', OLD.entry_id),
                'Correct a movement with ledger.reverse; history is append-only.');
        END IF;
        RETURN OLD;
    END IF;
    IF current_setting('pgbalance.archiving', true) IS DISTINCT FROM 'on'
       OR NOT EXISTS (SELECT FROM ledger.posting AS p
                       WHERE p.tenant_id = NEW.tenant_id AND p.entry_id = NEW.entry_id
                         AND p.posting_no = NEW.posting_no AND p.account_id = NEW.account_id
                         AND p.kind = NEW.kind AND p.amount = NEW.amount
                         AND p.posted_at = NEW.posted_at)
       OR NOT EXISTS (SELECT FROM ledger.seal AS s
                       WHERE s.tenant_id = NEW.tenant_id AND s.horizon > NEW.posted_at) THEN
        PERFORM ledger._raise('PB009', 'ledger history is immutable: INSERT on ledger.posting_archive',
            format('operation=INSERT table=ledger.posting_archive entry_id=%s', NEW.entry_id),
            'Sealed postings are archived by ledger.archive only.');
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION ledger._guard_archive() IS
    'Private trigger: a posting leaves ledger.posting only into an identical archived row, and enters ledger.posting_archive only from ledger.archive, sealed and identical to the row it moves (PB009 otherwise).';

CREATE OR REPLACE TRIGGER guard_posting_archived
    BEFORE DELETE ON ledger.posting
    FOR EACH ROW EXECUTE FUNCTION ledger._guard_archive('posting');
COMMENT ON TRIGGER guard_posting_archived ON ledger.posting IS
    'A posting leaves only into an identical row of ledger.posting_archive (PB009).';
CREATE OR REPLACE TRIGGER guard_posting_archive_insert
    BEFORE INSERT ON ledger.posting_archive
    FOR EACH ROW EXECUTE FUNCTION ledger._guard_archive('posting_archive');
COMMENT ON TRIGGER guard_posting_archive_insert ON ledger.posting_archive IS
    'Only ledger.archive inserts, sealed rows identical to the ones it moves (PB009).';
CREATE OR REPLACE TRIGGER guard_posting_archive_history
    BEFORE UPDATE OR DELETE ON ledger.posting_archive
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('posting_archive');
CREATE OR REPLACE TRIGGER guard_posting_archive_truncate
    BEFORE TRUNCATE ON ledger.posting_archive
    FOR EACH STATEMENT EXECUTE FUNCTION ledger._guard_history('posting_archive');
COMMENT ON TRIGGER guard_posting_archive_history ON ledger.posting_archive IS 'Archived postings are append-only (PB009).';
COMMENT ON TRIGGER guard_posting_archive_truncate ON ledger.posting_archive IS 'Archived postings are append-only (PB009).';
