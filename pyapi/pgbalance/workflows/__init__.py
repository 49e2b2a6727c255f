"""Workflow namespaces of the client (``client.wallet``, ``client.booking``, ...).

Each module wraps one SQL schema: a namespace class taking the client's
:class:`~pgbalance.connection.Executor`, whose methods each call exactly one SQL function,
and the frozen result rows of that schema. No business rule lives here.
"""
