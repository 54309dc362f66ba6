"""``--jobs N``: one evaluation spread over worker processes, with the findings of one process.

The inputs are cut into work units (:mod:`.plan`): batches of small files, larger files whole, large JSONL/CSV
files in parts that start on a record's first line, and runs of in-memory records; each file read up to the size
it had when planned. Each worker rebuilds the policy once from its pack's content
(``CompiledPack.__reduce__``) and judges units with the same loop as one process (:mod:`.units`), sending the
findings back as plain tuples (:mod:`.wire`); the driver
takes the results back in input order, judges again a unit that repeats an earlier unit's record id, adds up
the counts and merges each aggregate rule's groups (:mod:`.runner`), so group findings are judged once, after
the merge, exactly as in one pass.
"""

from svcpolicy.engines.parallel.plan import FileBatch, FileUnit, RecordsUnit, WorkUnit, plan_units, split_file
from svcpolicy.engines.parallel.runner import available_cores, judge_in_parallel, merge_result
from svcpolicy.engines.parallel.units import UnitResult, judge_unit, repeats_before

__all__ = [
    "FileBatch",
    "FileUnit",
    "RecordsUnit",
    "UnitResult",
    "WorkUnit",
    "available_cores",
    "judge_in_parallel",
    "judge_unit",
    "merge_result",
    "plan_units",
    "repeats_before",
    "split_file",
]
