"""The harness: what shows pgbalance keeps its promises, shipped with it (`pgbalance run`,
`pgbalance stress`, `pgbalance bench`). An application never imports it.

demo       `pgbalance run`: the live race of transfers, then the incidents table
incidents  each incident's unprotected pattern against pgbalance, side by side
naive      the unprotected patterns behind the incidents, one SQL file per workflow
together   release n connections together (the incidents, the demo and the tests' races)
stress     `pgbalance stress`: workloads, faults, the exactly-once oracle
bench      `pgbalance bench`: transfers against pgbench's TPC-B
bench_history  `pgbalance bench --history`: reads and checks as history grows
"""
