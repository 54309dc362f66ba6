"""The Spark engine (``svcpolicy[spark]``): the same findings as one process, on a Spark cluster.

Record rules run inside Spark tasks with the closure engine, a partition (or a part of a record file) at a time,
with the policy rebuilt on each executor from its pack's content. Each task also returns its aggregate groups
and record ids; Spark combines the groups by key in input order and the groups are judged once, after the merge,
so aggregate rules see the whole input exactly as in one pass, and a record id repeated across tasks makes the
later record invalid, as in one pass. pyspark is imported only when a session is needed.

* :func:`evaluate` takes a DataFrame of records (nested columns as the record model, or one JSON text column)
  and returns a DataFrame of findings with the fields of ``--format jsonl`` (:mod:`.frames`).
* :class:`SparkRun` judges record files for ``svcpolicy check --engine spark`` (:mod:`.files`).
"""

from svcpolicy.engines.spark.files import SparkRun
from svcpolicy.engines.spark.frames import FINDING_COLUMNS, evaluate, finding_row
from svcpolicy.engines.spark.session import spark_session

__all__ = ["FINDING_COLUMNS", "SparkRun", "evaluate", "finding_row", "spark_session"]
