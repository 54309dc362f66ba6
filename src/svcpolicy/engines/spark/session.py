"""A Spark session for svcpolicy: the active one, else a new one (``local[*]`` unless a master is given)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from svcpolicy.extras import needs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_session(master: str | None = None) -> SparkSession:
    """The session to run on; Python workers use this interpreter, which has svcpolicy installed."""
    with needs("pyspark", "the Spark engine", "spark"):
        from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("svcpolicy").master(master or "local[*]")
    session = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
