"""Hypothesis strategies for the engine differential tests: rules in the durable-rules subset, and records
drawn from small domains so that rules and records meet on the edge cases (null, absent, equal instants in
different offsets, values at a limit, text with quotes and newlines)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

CST = dt.timezone(dt.timedelta(hours=8))
UTC = dt.UTC

# -- records -------------------------------------------------------------------------------------------

ABSENT: Any = object()

INSTANTS = [
    "2026-03-02T10:00:00+08:00",
    "2026-03-02T02:00:00+00:00",  # the same instant written in UTC
    "2026-03-02T10:30:00+08:00",
    "2026-03-02T09:59:59.999999+08:00",
    "2026-03-03T10:00:00+08:00",
    "2001-01-01T00:00:00-12:00",
    "9999-12-30T00:00:00+00:00",  # near the end of datetime: offsets beyond it are undetermined
]
TEXT = ["counter", "phone", "atm", "", "保本", "这款产品保本保收益", 'say "hi"', "a\nb", "back\\slash", "本产品不保本"]
STEP_NAMES = ["identity_verification", "customer_signature", "risk_disclosure", None]


def _maybe(values: st.SearchStrategy[Any], *, null: bool = True) -> st.SearchStrategy[Any]:
    options = [st.just(ABSENT), values]
    if null:
        options.append(st.none())
    return st.one_of(*options)


def _mapping(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    def build(values: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v is not ABSENT}

    return st.fixed_dictionaries(fields).map(build)


_instant = st.sampled_from(INSTANTS)
_number = st.sampled_from([0, 0.0, 1, 2, 3, 5, 29.5, 30, 30.0, 31, 1e16, 2.5e-7, 150])
_level = st.sampled_from([1, 2, 3, 4, 5])

STEP = _mapping(name=_maybe(st.sampled_from(STEP_NAMES)), at=_maybe(_instant))
OFFER = _mapping(
    product_id=_maybe(st.sampled_from(["WM-1", "FUND-2", ""])),
    product_risk_level=_maybe(_level),
    related_to_stated_need=_maybe(st.booleans()),
    customer_declined=_maybe(st.booleans()),
    declined_at=_maybe(_instant),
    sold=_maybe(st.booleans()),
    sold_at=_maybe(_instant),
    risk_disclosed_at=_maybe(_instant),
    statements=_maybe(st.lists(st.sampled_from(TEXT), max_size=3), null=False),
)
OPERATION = _mapping(
    id=_maybe(st.sampled_from(["OP-1", "OP-2"])),
    kind=_maybe(st.sampled_from(["close_account", "transfer", "print_statement"])),
    affects_customer_rights=_maybe(st.booleans()),
    at=_maybe(_instant),
    authorization=_maybe(
        _mapping(
            by=_maybe(st.sampled_from(["C1", "E1"])),
            scope=_maybe(st.sampled_from(["close_account", "transfer"])),
            at=_maybe(_instant),
        )
    ),
)

RECORD = _mapping(
    id=st.sampled_from(["R1", "R2", "R1"]),  # repeated ids: the adapter must not take them as fact identity
    channel=_maybe(st.sampled_from(TEXT)),
    business_type=_maybe(st.sampled_from(["account_opening", "wealth_product_sale", "complaint"])),
    stated_need=_maybe(st.sampled_from(TEXT)),
    wait_minutes=_maybe(_number),
    started_at=_maybe(_instant),
    ended_at=_maybe(_instant),
    customer=_maybe(
        _mapping(
            id=_maybe(st.sampled_from(["C1", "E1"])),
            risk_tolerance=_maybe(_level),
            age=_maybe(st.sampled_from([0, 40, 150])),
            identity_verified=_maybe(st.booleans()),
        )
    ),
    steps=_maybe(st.lists(STEP, max_size=3), null=False),
    offers=_maybe(st.lists(OFFER, max_size=3), null=False),
    operations=_maybe(st.lists(OPERATION, max_size=2), null=False),
    satisfaction=_maybe(_mapping(asked=_maybe(st.booleans()), score=_maybe(st.sampled_from([0, 3, 5.5])))),
    complaint=_maybe(
        _mapping(
            id=_maybe(st.just("CMP-1")),
            received_at=_maybe(_instant),
            decided_at=_maybe(_instant),
            logged_ref=_maybe(st.sampled_from(["T1", ""])),
        )
    ),
)

# -- rules -----------------------------------------------------------------------------------------------

NUMBERS = [
    "wait_minutes",
    "customer.risk_tolerance",
    "customer.age",
    "satisfaction.score",
    "len(steps)",
    "len(stated_need)",
]
TEXTS = [
    "channel",
    "business_type",
    "customer.id",
    "steps[0].name",
    "steps[-1].name",
    "complaint.logged_ref",
    "stated_need",
]
BOOLS = ["customer.identity_verified", "satisfaction.asked"]
TIMES = ["started_at", "ended_at", "complaint.received_at", "complaint.decided_at", "as_of", "steps[0].at"]
MAPPINGS = ["satisfaction", "complaint", "customer"]
LISTS = ["steps", "offers", "operations"]

LOOP_NUMBERS = ["offer.product_risk_level"]
LOOP_TEXTS = ["offer.product_id"]
LOOP_BOOLS = ["offer.sold", "offer.customer_declined", "offer.related_to_stated_need"]
LOOP_TIMES = ["offer.sold_at", "offer.declined_at", "offer.risk_disclosed_at"]

CONSTANTS: dict[str, list[str]] = {
    "number": ["0", "3", "30", "29.5", "1e15", "-1", "params.limit"],
    "text": ['"counter"', '""', '"保本"', '"identity_verification"', '"C1"', "params.channels[0]"],
    "bool": ["True", "False"],
    "time": [],
}
WRONG = ["None", "3", '"3"', "True"]  # constants of every kind, for type mismatches
ORDER = ["<", "<=", ">", ">="]
EQUALITY = ["==", "!="]


@st.composite
def comparisons(draw: st.DrawFn, loop: bool) -> str:
    kind = draw(st.sampled_from(["number", "text", "bool", "time", "mapping", "list", "mixed"]))
    pools = {
        "number": NUMBERS + (LOOP_NUMBERS if loop else []),
        "text": TEXTS + (LOOP_TEXTS if loop else []),
        "bool": BOOLS + (LOOP_BOOLS if loop else []),
        "time": TIMES + (LOOP_TIMES if loop else []),
        "mapping": MAPPINGS,
        "list": LISTS,
    }
    if kind == "mixed":
        left = draw(st.sampled_from(NUMBERS + TEXTS + BOOLS + TIMES))
        return f"{left} {draw(st.sampled_from(EQUALITY + ORDER))} {draw(st.sampled_from(WRONG))}"
    left = draw(st.sampled_from(pools[kind]))
    if kind in ("mapping", "list"):
        return draw(st.sampled_from([f"{left} is None", f"{left} is not None", f"{left} == None", left, f"not {left}"]))
    form = draw(st.sampled_from(["const", "path", "none", "truth", "in", "chain", "offset", "has"]))
    if form == "none":
        return f"{left} {draw(st.sampled_from(['is None', 'is not None', '== None', '!= None']))}"
    if form == "truth":
        return left
    if form == "has" and "(" not in left and left != "as_of":
        return f"has({left})"
    ops = ORDER + EQUALITY if kind in ("number", "time", "bool") else EQUALITY
    if form == "in" and kind in ("number", "text", "bool"):
        options = draw(st.lists(st.sampled_from(CONSTANTS[kind] + ["None", "1", "True"]), min_size=1, max_size=3))
        options = [o for o in options if not o.startswith("params.channels")] or ["None"]
        return f"{left} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(options)}]"
    if form == "chain" and kind == "number":
        low, first, second = (
            draw(st.sampled_from(["0", "1"])),
            draw(st.sampled_from(ORDER)),
            draw(st.sampled_from(ORDER)),
        )
        return f"{low} {first} {left} {second} 30"
    if form == "offset" and kind == "time":
        right = draw(st.sampled_from(pools["time"]))
        amount = draw(st.sampled_from(["minutes(30)", "days(1)", "hours(-2)", "days(3000000)"]))
        sign = draw(st.sampled_from(["+", "-"]))
        return f"{left} {draw(st.sampled_from(ops))} {right} {sign} {amount}"
    if form == "offset" and kind == "number":
        right = draw(st.sampled_from(pools["number"]))
        return f"{left} {draw(st.sampled_from(ops))} {right} + {draw(st.sampled_from(['1', '-2', 'params.limit']))}"
    if form == "path" or not CONSTANTS[kind]:
        return f"{left} {draw(st.sampled_from(ops))} {draw(st.sampled_from(pools[kind]))}"
    return f"{left} {draw(st.sampled_from(ops))} {draw(st.sampled_from(CONSTANTS[kind]))}"


@st.composite
def quantifiers(draw: st.DrawFn, loop: bool) -> str:
    outer = draw(
        st.sampled_from(
            ["customer.risk_tolerance", "3", "wait_minutes"] + (["offer.product_risk_level"] if loop else [])
        )
    )
    return draw(
        st.sampled_from(
            [
                'any(s.name == "identity_verification" for s in steps)',
                "all(s.at is not None for s in steps)",
                f"any(o.product_risk_level > {outer} for o in offers if o.sold)",
                f"all(o.sold for o in offers if o.product_risk_level > {outer})",
                "any(o.sold_at > started_at for o in offers)",
                "any(op.authorization is None for op in operations if op.affects_customer_rights)",
                'all(op.kind != "close_account" or op.authorization.by == customer.id for op in operations)',
                "any(o.sold and o.sold_at < o.declined_at for o in offers)",  # two item fields: unsupported
                "any(s.at for s in steps)",
                "any(c == channel for c in params.channels)",  # a quantifier over a parameter: unrolled
                "all(c != channel or wait_minutes > 10 for c in params.channels)",
                "any(s for s in offer.statements)" if loop else "all(s.name for s in steps)",
                "any(contains_any(s, params.phrases) for s in offer.statements)"
                if loop
                else "contains_any(stated_need, params.phrases)",
                'any(s == "保本" for s in offer.statements)'
                if loop
                else 'any(o.product_id in ["WM-1", "x"] for o in offers)',
            ]
        )
    )


def conditions(loop: bool) -> st.SearchStrategy[str]:
    base = st.one_of(comparisons(loop), quantifiers(loop))
    return st.recursive(
        base,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda e: f"(not {e})"),
        ),
        max_leaves=4,
    )


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    loop = draw(st.booleans())
    rule: dict[str, Any] = {"when": draw(conditions(loop))}
    if loop:
        rule["for_each"] = "offer in offers"
    if draw(st.booleans()):
        rule["applies_if"] = draw(conditions(False))
    if draw(st.integers(0, 4)) == 0:
        rule["effective_from"] = "2026-03-02"
        rule["effective_until"] = "2026-03-02"
    return rule


# Reasons a generated rule may be outside durable-rules' language; any other reason fails the test.
EXPECTED_UNSUPPORTED = (
    "compares two fields of one quantifier item",
    "mixes conditions on the item and on the record",
    "durable-rules refused the compiled rule",
    "cannot be negated",
    "moves a value by more than",
    "not a true/false test",
    "orders text",
    "evaluates by field order",
    "matching stack",
    "one rule may take",
)
