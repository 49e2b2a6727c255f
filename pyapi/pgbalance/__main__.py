"""`python -m pgbalance` is the `pgbalance` command."""

from pgbalance.cli import main

raise SystemExit(main())
