"""pgbalance: a PostgreSQL-native balance kernel. The SQL functions are the product;
this package deploys them (migrate), checks them (verify) and drives them (run, tests)."""

__version__ = "0.1.0"

from pgbalance.client import Client
from pgbalance.errors import PgBalanceError

__all__ = ["Client", "PgBalanceError", "__version__"]
