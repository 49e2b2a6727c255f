"""DBA-facing checks: migration lint, rollbacks, the upgrade path, generated docs, examples,
and the catalog rules that keep the schema distributable by tenant."""
