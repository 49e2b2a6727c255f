"""The harness: what shows pgbalance keeps its promises, shipped with it (`pgbalance run`,
`pgbalance stress`, `pgbalance bench`). An application never imports it.

naive     the unprotected patterns behind the incidents, one SQL file per workflow
together  release n connections together (the incidents, the demo and the tests' races)
"""
