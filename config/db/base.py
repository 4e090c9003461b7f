"""PostgreSQL, as Django's backend, with a client-side limit on waiting.

`statement_timeout` is enforced by the server, so it cannot help when the
server (or the network path to it) stops answering: a query sent to a
stopped PostgreSQL waits on the socket for as long as TCP keeps the
connection, while the web worker that sent it serves nobody. With the
`answer_timeout` option (seconds; set for web processes in config/settings/base.py)
every wait for the server gives up after that long, closes the connection
and raises OperationalError, which the site answers with a 503.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg
from django.db.backends.postgresql import base
from psycopg import errors
from psycopg.connection import _WAIT_INTERVAL


class AnswerTimeoutConnection(psycopg.Connection):
    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if timeout is not None or not self.answer_timeout:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except errors._WaitTimeout:
            # Half-way through the protocol: the connection cannot be reused.
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"PostgreSQL did not answer within {self.answer_timeout:g} s; connection closed"
            ) from None


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        params.pop("answer_timeout", None)  # ours, not libpq's
        return params

    def get_new_connection(self, conn_params: dict) -> Any:
        connection = super().get_new_connection(conn_params)
        answer_timeout = self.settings_dict["OPTIONS"].get("answer_timeout")
        if answer_timeout and type(connection) is psycopg.Connection:
            # The connection is made (connect_timeout bounds that); from now
            # on its waits are bounded too. The subclass only overrides wait().
            connection.__class__ = AnswerTimeoutConnection
            cast(AnswerTimeoutConnection, connection).answer_timeout = float(answer_timeout)
        return connection
