"""Label and field selectors: the runner against labels.Parse and fields.ParseSelector.

For each selector both sides say accept or refuse; for an accepted one, the
canonical text (what the runner sends) and whether it matches a handful of
label or field sets must agree too.
"""

from __future__ import annotations

import random
import re
from typing import Any

from runner.spec.errors import SpecError
from runner.spec.selectors import parse_field_selector, parse_label_selector
from tests.conformance.compare import Tally
from tests.conformance.reference import Reference, rng

LABEL_HAND_PICKED = [
    # issue 9
    "x in (a,)",
    "x in ()",
    # apimachinery's documented grammar and its edges
    "",
    " ",
    ",",
    "x",
    "!x",
    "x=a",
    "x==a",
    "x!=a",
    "x=",
    "x==",
    "x!=",
    "x in (a,b)",
    "x notin (a,b)",
    "x in (b,a,b)",
    "x in (,)",
    "x in (,a)",
    "x in (a,,b)",
    "x in (a,,)",
    "x in (a b)",
    "x in (a",
    "x in a",
    "x in",
    "x>1",
    "x<1",
    "x>-1",
    "x>+1",
    "x>01",
    "x>",
    "x>a",
    "x>99999999999999999999",
    "x>=1",
    "x<=1",
    "x=>1",
    "x=!a",
    "!x=a",
    "!!x",
    "x,",
    ",x",
    "x,,y",
    "x=a,y!=b,z in (c),!w,v",
    "z=1,a=2,m=3",
    "a=2,a=1",
    "in=notin",
    "notin in (in,notin)",
    "x in (in)",
    "x=in",
    "example.com/x=y",
    "a/b/c=d",
    "/x=y",
    "x/=y",
    "Example.com/x=y",
    "-x=y",
    "x-=y",
    "x_y.z-w=Ab_9.z",
    "x=-a",
    "x=a-",
    "x=a b",
    "x = a",
    " x=a ",
    "x=a\t,\ny=b\r",
    "x=a\x0b",
    "x=\u00e9",
    "\u00e9=a",
    "x=\u0663",
    "x" * 63 + "=a",
    "x" * 64 + "=a",
    "x=" + "v" * 63,
    "x=" + "v" * 64,
    "a" * 253 + "/x=y",
    ("a" * 62 + ".") * 4 + "a/x=y",
    "x(a)",
    "x)",
    "(x)",
    "x in ((a))",
    "x in (a),(b)",
]

FIELD_HAND_PICKED = [
    # issue 9
    "x!==a",
    "k=\\",
    "a!= web",
    # fields.ParseSelector's grammar and its edges
    "",
    ",",
    "metadata.name=web",
    "metadata.name==web",
    "status.phase!=Running",
    "a=b,c=d",
    "c=d,a=b",
    "a=b,,c=d",
    "a=b,",
    ",a=b",
    "a=",
    "a==",
    "a!=",
    "=a",
    "=",
    "==",
    "!=",
    "a",
    "a=b=c",
    "a===b",
    "a=!b",
    "a!=!b",
    "a=b\\,c",
    "a=b\\=c",
    "a=b\\\\c",
    "a=b\\c",
    "a=b\\",
    "a\\,b=c",
    "a\\=b=c",
    "a\\==b",
    "a.b.c=d",
    "a..b=c",
    ".a=b",
    "a b=c",
    " a=b",
    "a =b",
    "a= b",
    "a=b ",
    "a=\u00e9",
    "\u00e9=a",
    "a=\u0663",
    "spec.nodeName=",
    "involvedObject.kind=Pod,type!=Normal",
    "metadata.namespace!=kube-system,metadata.namespace!=default",
]

KEYS = ["app", "tier", "x", "example.com/team", "in", "notin", "a.b-c_d", "k8s.io/name", "n"]
BAD_KEYS = ["-x", "x-", "A.com/x", "a/b/c", "/x", "x/", "\u00e9", "\u0663", "x" * 64, "x\x0b"]
VALUES = ["", "web", "db", "a-b", "007", "5", "12", "v1.2_3", "in", "notin", "X"]
BAD_VALUES = ["-a", "a-", "a b", "\u00e9", "v" * 64, "+5", "-5", "a,b", "\u0663"]
LABEL_OPS = ["=", "==", "!=", " = ", "=="]
SEPARATORS = [",", ",", ",", " , ", ",,", ", "]
SPACES = [" ", "\t", "\n", "\r", "\x0b", "\u00a0"]


def _maybe(r: random.Random, good: list[str], bad: list[str], p_bad: float) -> str:
    return r.choice(bad) if r.random() < p_bad else r.choice(good)


def generated_label_selector(r: random.Random) -> str:
    terms = []
    for _ in range(r.randint(1, 5)):
        key = _maybe(r, KEYS, BAD_KEYS, 0.04)
        roll = r.random()
        if roll < 0.12:
            terms.append(key)
        elif roll < 0.22:
            terms.append("!" + key)
        elif roll < 0.55:
            terms.append(key + r.choice(LABEL_OPS) + _maybe(r, VALUES, BAD_VALUES, 0.05))
        elif roll < 0.85:
            op = r.choice([" in ", " notin ", " in", "in "])
            items = [_maybe(r, VALUES, BAD_VALUES, 0.04) for _ in range(r.randint(0, 4))]
            inner = r.choice([",", ", ", " ,", ",,"]).join(items)
            if r.random() < 0.1:
                inner = r.choice([",", inner + ",", "," + inner])
            terms.append(f"{key}{op}({inner})" if r.random() > 0.03 else f"{key}{op}{inner}")
        elif roll < 0.95:
            number = r.choice(["5", "0", "12", "-3", "+4", "x", "", "99999999999999999999"])
            terms.append(key + r.choice([">", "<", ">=", " > "]) + number)
        else:
            terms.append("".join(r.choice("=!(),<> xa") for _ in range(r.randint(1, 6))))
    text = terms[0]
    for term in terms[1:]:
        text += r.choice(SEPARATORS) + term
    if r.random() < 0.08:
        text = r.choice(SPACES) + text + r.choice(SPACES)
    if r.random() < 0.03:
        text += ","
    return text


def label_sets(r: random.Random, selector: str) -> list[dict[str, str]]:
    words = [w for w in re.split(r"[\s=!(),<>]+", selector) if w] or ["x"]
    sets = [{}]
    for _ in range(5):
        chosen = r.sample(words, r.randint(1, min(3, len(words))))
        sets.append({k: r.choice([*words, "", "5", "6", "-7", "12", "x", "007"]) for k in chosen})
    return sets


def runner_labels(text: str, sets: list[dict[str, str]]) -> dict[str, Any]:
    try:
        selector = parse_label_selector(text, "labelSelector")
    except SpecError as err:
        return {"ok": False, "why": str(err)}
    return {
        "ok": True,
        "string": selector.text,
        "matches": [selector.matches(s) for s in sets],
    }


def compare_labels(
    tally: Tally, cases: list[tuple[str, list[dict[str, str]]]], ref: Reference
) -> None:
    answers = ref.ask_many({"op": "labelselector", "selector": t, "sets": s} for t, s in cases)
    for (text, sets), theirs in zip(cases, answers, strict=True):
        assert "error" not in theirs, theirs
        tally.cases += 1
        ours = runner_labels(text, sets)
        if ours["ok"] != theirs["ok"]:
            if theirs["ok"] and not theirs["requirements"]:
                tally.skip("selector-empty")
            else:
                tally.differ(text, ours, theirs)
        elif ours["ok"] and (ours["string"], ours["matches"]) != (
            theirs["string"],
            theirs["matches"],
        ):
            tally.differ((text, sets), ours, theirs)


FIELD_NAMES = ["metadata.name", "status.phase", "spec.nodeName", "a", "x_y-z.w", "type"]
BAD_FIELD_NAMES = ["", " a", "a ", "a b", "\u00e9", "a..b", ".a", "a\\,b", "a\\"]
FIELD_VALUE_CHARS = "abc-_.:/ ,=\\\u00e9\u0663"


def generated_field_selector(r: random.Random) -> str:
    terms = []
    for _ in range(r.randint(1, 4)):
        name = _maybe(r, FIELD_NAMES, BAD_FIELD_NAMES, 0.08)
        op = r.choice(["=", "==", "!=", "="]) if r.random() > 0.06 else r.choice(["", "!==", "==="])
        value = ""
        for _ in range(r.randint(0, 6)):
            char = r.choice(FIELD_VALUE_CHARS)
            if char in ",=\\" and r.random() < 0.85:
                char = "\\" + char  # mostly escaped, sometimes bare
            value += char
        terms.append(name + op + value)
    text = r.choice([",", ",", ",,"]).join(terms)
    if r.random() < 0.05:
        text = r.choice([",", ""]) + text + r.choice([",", "\\"])
    return text


def field_sets(r: random.Random, answer: dict[str, Any]) -> list[dict[str, str]]:
    reqs = answer.get("requirements") or []
    sets = [{}]
    for _ in range(5):
        sets.append({q["field"]: r.choice([q["value"], "", "other"]) for q in reqs})
    return sets


def runner_fields(text: str, sets: list[dict[str, str]]) -> dict[str, Any]:
    try:
        selector = parse_field_selector(text, "fieldSelector")
    except SpecError as err:
        return {"ok": False, "why": str(err)}
    return {"ok": True, "string": selector.text, "matches": [selector.matches(s) for s in sets]}


def compare_fields(tally: Tally, texts: list[str], ref: Reference, seed: str) -> None:
    r = rng(seed)
    first = ref.ask_many({"op": "fieldselector", "selector": t} for t in texts)
    sets = [field_sets(r, a) for a in first]
    answers = ref.ask_many(
        {"op": "fieldselector", "selector": t, "sets": s} for t, s in zip(texts, sets, strict=True)
    )
    for text, theirs, these in zip(texts, answers, sets, strict=True):
        assert "error" not in theirs, theirs
        tally.cases += 1
        ours = runner_fields(text, these)
        if ours["ok"] != theirs["ok"]:
            if theirs["ok"] and not theirs["requirements"]:
                tally.skip("selector-empty")  # "", ",", "=": everything, for the API server
            elif theirs["ok"] and "is not a field name" in ours["why"]:
                tally.skip("fieldselector-name")
            else:
                tally.differ(text, ours, theirs)
        elif ours["ok"] and (ours["string"], ours["matches"]) != (
            theirs["string"],
            theirs["matches"],
        ):
            tally.differ((text, these), ours, theirs)


def test_hand_picked_label_selectors_agree(reference: Reference) -> None:
    r = rng("labels-hand-picked")
    tally = Tally("label selectors, hand-picked")
    compare_labels(tally, [(t, label_sets(r, t)) for t in LABEL_HAND_PICKED], reference)
    tally.check(len(LABEL_HAND_PICKED))


def test_generated_label_selectors_agree(reference: Reference) -> None:
    r = rng("labels-generated")
    tally = Tally("label selectors, generated")
    texts = [generated_label_selector(r) for _ in range(4000)]
    compare_labels(tally, [(t, label_sets(r, t)) for t in texts], reference)
    tally.check(4000)
    assert sum(runner_labels(t, [])["ok"] for t in texts[:400]) > 100


def test_hand_picked_field_selectors_agree(reference: Reference) -> None:
    tally = Tally("field selectors, hand-picked")
    compare_fields(tally, FIELD_HAND_PICKED, reference, "fields-hand-picked")
    tally.check(len(FIELD_HAND_PICKED))


def test_generated_field_selectors_agree(reference: Reference) -> None:
    r = rng("fields-generated")
    tally = Tally("field selectors, generated")
    texts = [generated_field_selector(r) for _ in range(4000)]
    compare_fields(tally, texts, reference, "fields-generated-sets")
    tally.check(4000)
    assert sum(runner_fields(t, [])["ok"] for t in texts[:400]) > 100
