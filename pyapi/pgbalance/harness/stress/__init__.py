"""`pgbalance stress`: the concurrency and fault harness with an exactly-once oracle (the
subcommand itself: pgbalance.commands.stress).

runner    workers, the run, resolving indeterminate calls
workload  one scenario per module (transfers, wallet, booking, fees, tuition)
faults    kill, ambiguous, crash
oracle    the checks every scenario shares
naive     the workloads over the unprotected patterns (--naive), in a scratch schema
report    the summary table and the --json report
"""
