"""The durable-rules engine: a second engine for record rules, behind one small interface.

``policy.evaluate(records, engine="durable")`` judges record rules with durable-rules 2.0.28 (a C Rete
engine) instead of the closure engine. This package owns everything durable-specific:

* **Compiling.** :mod:`~svcpolicy.engines.durable.lowering` turns each rule into durable-rules conditions, and
  :mod:`~svcpolicy.engines.durable.program` does so once per policy; a rule it cannot express is listed with its
  reason (:func:`durable_coverage`) and judged by the closure engine, never dropped. So is a rule durable-rules
  refuses to load, or does not load in time: rulesets are bounded in rules and bytes, and each is first loaded
  in a child process that is killed after a deadline (:mod:`~svcpolicy.engines.durable.probe`).
* **Facts.** Each record becomes one *record fact* plus one *item fact* per item of each ``for_each``
  collection, holding only the values the rules read (:mod:`~svcpolicy.engines.durable.facts`). Fact ids are
  the judge's own counter, so a record's ``id`` never meets durable-rules' message identity (a repeated id is
  silently ignored by it), and no fact has a ``sid`` (each distinct ``sid`` is a separate engine state of
  ~170 KB). Facts are asserted in batches, every action is drained, and the batch is retracted, so memory stays
  flat.
* **Unmatched facts.** A batch in which some fact matches no rule returns durable-rules' "not handled" code;
  that is the normal case here (a compliant record matches nothing) and is not an error.
* **One owner thread.** durable-rules is not thread-safe; each :class:`DurableEngine`
  (:mod:`~svcpolicy.engines.durable.runtime`) runs every call on its own thread, whatever thread drives the
  evaluation.
* **Explaining.** durable-rules decides which (rule, record, item) pairs are violations or undetermined. The
  evidence, messages and the missing field of those pairs come from the closure engine, as they do for the
  closure engine's own findings; the two must agree on every pair durable-rules reports, or
  :class:`EngineMismatch` is raised (:mod:`~svcpolicy.engines.durable.judge`).

Values durable-rules cannot hold faithfully (text longer than 65,535 bytes, integers beyond 64 bits, lone
surrogates) make that record's rules run on the closure engine; :class:`DurableStats` counts them by reason.
"""

from svcpolicy.engines.durable.facts import Projector, Unrepresentable, dumps
from svcpolicy.engines.durable.judge import BATCH, DurableJudge, DurableStats, EngineMismatch
from svcpolicy.engines.durable.program import DurableProgram, durable_coverage, durable_program
from svcpolicy.engines.durable.runtime import DurableEngine, DurableRulesError, DurableUnavailable

__all__ = [
    "BATCH",
    "DurableEngine",
    "DurableJudge",
    "DurableProgram",
    "DurableRulesError",
    "DurableStats",
    "DurableUnavailable",
    "EngineMismatch",
    "Projector",
    "Unrepresentable",
    "dumps",
    "durable_coverage",
    "durable_program",
]
