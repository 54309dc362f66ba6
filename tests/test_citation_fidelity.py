"""A finding cites only what was law on the record's day, says when a text is a gloss or a part, and never leaves
an article label ambiguous."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import svcpolicy
from conftest import MINI_PACK
from svcpolicy.engine.programs import citation_for
from svcpolicy.errors import PackErrors
from svcpolicy.pack.bundled import bundled_pack_path
from svcpolicy.pack.loader import read_pack

AS_OF = dt.datetime(2026, 11, 27, tzinfo=dt.timezone(dt.timedelta(hours=8)))

WITH_A_LATER_NATIONAL_RULE = MINI_PACK.replace(
    "parameters:",
    """  suitability-2025:
    title: 金融机构产品适当性管理办法
    kind: national
    effective_from: 2026-02-01
    provisions:
      "12":
        label: 第十二条
        confidence: secondary-source
        wording: excerpt
        class: record
        text: 产品风险等级高于客户风险承受能力的
      gloss:
        label: null
        confidence: unconfirmed
        wording: paraphrase
        effective_from: 2026-06-01
        class: record
        text: "an English gloss of a later article."
parameters:""",
).replace("    cite: [svc-rules/16]\n", "    cite: [svc-rules/16, suitability-2025/12]\n")

ONLY_LATER = WITH_A_LATER_NATIONAL_RULE.replace(
    "    cite: [svc-rules/16, suitability-2025/12]\n", "    cite: [suitability-2025/12, suitability-2025/gloss]\n"
)


def unauthorised_close(day: str) -> dict[str, object]:
    at = f"{day}T10:00:00+08:00"
    return {
        "id": f"R-{day}",
        "started_at": at,
        "operations": [{"kind": "close_account", "affects_customer_rights": True, "at": at, "authorization": None}],
    }


def cited(policy: svcpolicy.Policy, day: str) -> list[str]:
    findings = policy.evaluate([unauthorised_close(day)], as_of=AS_OF).findings
    assert len(findings) == 1
    return [c.ref for c in findings[0].citations]


def test_a_finding_before_a_rule_takes_effect_does_not_cite_it(write_pack: Callable[..., Path]) -> None:
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": WITH_A_LATER_NATIONAL_RULE}))
    assert cited(policy, "2026-01-15") == ["svc-rules/16"]
    assert cited(policy, "2026-02-01") == ["svc-rules/16", "suitability-2025/12"]


def test_a_rule_resting_only_on_rules_not_yet_in_force_does_not_apply(write_pack: Callable[..., Path]) -> None:
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": ONLY_LATER}))
    assert policy.evaluate([unauthorised_close("2026-01-15")], as_of=AS_OF).findings == []
    assert cited(policy, "2026-03-02") == ["suitability-2025/12"]  # the gloss takes effect on 2026-06-01
    assert cited(policy, "2026-07-01") == ["suitability-2025/12", "suitability-2025/gloss"]


def test_a_paraphrase_can_never_be_confirmed(write_pack: Callable[..., Path]) -> None:
    confirmed_gloss = WITH_A_LATER_NATIONAL_RULE.replace(
        "        label: null\n        confidence: unconfirmed\n        wording: paraphrase",
        "        label: 第一条\n        wording: paraphrase",
    )
    with pytest.raises(PackErrors, match="a paraphrase is never `confirmed`"):
        read_pack(write_pack({"pack.yaml": confirmed_gloss}))


def test_citations_say_when_the_text_is_a_gloss_or_a_part_of_the_article(write_pack: Callable[..., Path]) -> None:
    policy = svcpolicy.load_policy(write_pack({"pack.yaml": ONLY_LATER}))
    findings = policy.evaluate([unauthorised_close("2026-07-01")], as_of=AS_OF).findings
    labels = [c.display_label for c in findings[0].citations]
    assert labels == ["第十二条 (unconfirmed) (excerpt)", "article number unconfirmed (paraphrase)"]
    assert findings[0].to_dict()["citations"][1]["wording"] == "paraphrase"


def test_a_label_repeated_under_several_chapters_is_printed_with_its_chapter() -> None:
    pack = read_pack(bundled_pack_path())
    assert citation_for(pack.spec, "psbc-2023/content.3").display_label == "客户服务内容 3."
    assert citation_for(pack.spec, "psbc-2023/principles.3").display_label == "客户服务原则 3."
    assert citation_for(pack.spec, "svc-rules/16").display_label == "第十六条"  # 第十六条 is unique: no chapter needed


def test_every_english_gloss_in_the_bundled_pack_is_marked_as_a_paraphrase() -> None:
    pack = read_pack(bundled_pack_path())
    glosses = [
        f"{source_id}/{key}"
        for source_id, source in pack.sources.items()
        for key, provision in source.provisions.items()
        if not re.search(r"[\u4e00-\u9fff]{4}", provision.text.replace("单独同意", "").replace("明示同意", ""))
        and provision.wording != "paraphrase"
    ]
    assert glosses == []


def test_the_bundled_suitability_rules_take_effect_on_1_february_2026() -> None:
    pack = read_pack(bundled_pack_path())
    assert citation_for(pack.spec, "suitability-2025/12").effective_from == "2026-02-01"
    assert citation_for(pack.spec, "suitability-2025/13").effective_from == "2026-02-01"
