"""Subcommands of the `pgbalance` CLI, one module each (registered in pgbalance.cli)."""
