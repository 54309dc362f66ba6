"""Spark for svcpolicy (``pip install 'svcpolicy[spark]'``): judge a DataFrame of records on a cluster.

``svcpolicy.spark.evaluate(df, policy)`` returns a DataFrame of findings with the fields of ``--format jsonl``;
the findings, aggregate rules included, are those of ``policy.evaluate`` over the same records in the same
order. See svcpolicy.engines.spark for how the work is split and merged.
"""

from svcpolicy.engines.spark import FINDING_COLUMNS, SparkRun, evaluate, finding_row, spark_session

__all__ = ["FINDING_COLUMNS", "SparkRun", "evaluate", "finding_row", "spark_session"]
