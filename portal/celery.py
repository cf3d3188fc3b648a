"""The Celery app: reads Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
import sys
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_init, worker_process_init
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, saying "connection lost" where it said AttributeError.

    On a lost broker connection Celery 5.7 ``collect()``s the connection, which
    unhooks the transport from it (``transport.client = None``), and closes it. Both
    the close (restoring the unacknowledged message of the running acks_late task) and
    the task's own ack once it finishes then build a Redis client from that missing
    link: ``AttributeError("'NoneType' object has no attribute 'hostname'")``. That is
    no connection error, so Celery's handlers let it through and the worker exits
    ("Unrecoverable error"). Raised as the connection error it is, the close is
    ignored and the ack logged as not possible, which is the truth: the broker hands
    the message out again, and the run's rows decide what is still to do.
    """

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.ConnectionError("the broker connection of this channel was lost")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    """``CELERY_BROKER_TRANSPORT`` for a Redis broker: see ``RedisChannel``."""

    Channel = RedisChannel


app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# A run's lines are offered by a pool of HTTP threads while one thread writes outcomes
# and claims the next lines (runs/services/export.py). CPython hands the GIL over every
# 5 ms by default: a thread whose answer has come back waits up to that long behind the
# database thread's work, longer than a call to a package nearby takes. At 1 ms the
# threads' wait is cut to what the work itself costs: measured in bench/export_throughput.py
# (docs/benchmarks.md, "The export gap: the GIL's hand-over").
GIL_SWITCH_SECONDS = 0.001


@worker_init.connect
@worker_process_init.connect
def _short_gil_switch(**_: Any) -> None:
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
