"""Django's PostgreSQL backend whose connection health check usually costs no round trip.

With CONN_HEALTH_CHECKS on, Django runs ``SELECT 1`` before the first query of every request
and every task, so that a connection broken while idle (PostgreSQL restarted, a failover, an
idle-session timeout) is replaced instead of failing that request. On a public read that is
one query of two: a whole round trip and a parse on the server, every time.

An idle connection has nothing to read. When the server ends a session it sends its FATAL
notice and closes the socket, so a broken idle connection is readable (or hung up) before
anyone asks it anything. The check here polls the socket without waiting: nothing to read →
usable, no query sent; something to read (the server's goodbye, or an asynchronous message
such as a NOTIFY) or an error → Django's own ``SELECT 1`` decides, as before. A server that
vanished without closing the socket (a host gone dark) is caught by neither check until the
first query's TCP timeout, so nothing is lost against the round trip.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            pending = poller.poll(0)
        except (OSError, ValueError, base.Database.Error):
            return False
        return True if not pending else super().is_usable()
