"""pgbalance: a PostgreSQL-native balance kernel. The SQL functions are the product; this
package is three things around them:

- the client an application imports: Client (client.py, aio.py, connection.py), errors.py
  (the SQLSTATE registry), models.py and workflows/;
- the operator CLI, `pgbalance`: cli.py and commands/ (one module per subcommand) over
  migrate.py, release.py, bundle.py, db.py, paths.py and docgen.py;
- the harness, shipped so anyone can rerun it (`pgbalance run`, `stress`, `bench`):
  harness/, never imported by an application.
"""

from importlib import metadata

from pgbalance.client import Client
from pgbalance.errors import PgBalanceError

# pyproject.toml holds the version; a checkout run without installing has none.
try:
    __version__ = metadata.version("pgbalance")
except metadata.PackageNotFoundError:
    __version__ = "0+unknown"

__all__ = ["Client", "PgBalanceError", "__version__"]
