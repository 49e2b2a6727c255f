"""Contract tests of the ledger kernel (schema `ledger`), against real PostgreSQL.

test_accounts      open_account / get_account / close_account
test_transfer      transfer: effect, replay, PB001-PB007, 22023, the check order
test_post_entry    multi-leg and multi-currency entries, malformed legs, pending entries
test_holds         hold / capture (full, partial) / void / expiry / expire_holds
test_reverse       full, partial, capped and multi-leg reversals, states, replays
test_reading       get_entry, balance_at, statement
test_failures      every error leaves nothing behind and frees its key
test_tenancy       tenant isolation
test_privileges    pgbalance_app and pgbalance_auditor as LOGIN roles
test_guards        PB009 on history and balance writes, for the owner too
test_verify        each verify check shown going red on deliberate damage
test_concurrency   races released together through a barrier
test_interleavings deterministic interleavings with the step scheduler
test_client        the Python client: rows, errors by SQLSTATE, retry on killed backends
"""
