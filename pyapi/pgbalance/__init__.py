"""pgbalance: a PostgreSQL-native balance kernel. The SQL functions are the product;
this package deploys them (migrate), checks them (verify) and drives them (run, tests)."""

from importlib import metadata

from pgbalance.client import Client
from pgbalance.errors import PgBalanceError

# pyproject.toml holds the version; a checkout run without installing has none.
try:
    __version__ = metadata.version("pgbalance")
except metadata.PackageNotFoundError:
    __version__ = "0+unknown"

__all__ = ["Client", "PgBalanceError", "__version__"]
