"""Training languages chosen by URIEL distance to a language (``train_languages: {nearest: 3, to: ja}``), resolved on build.

A task section's ``train_languages`` may be a rule instead of a list::

    train_languages: {nearest: 3, to: ja, features: syntax, from: [en, de, fr, ko, tr, hi]}

``nearest: k`` keeps the k languages of ``from`` with the smallest URIEL distance to ``to``
(nearest first), ``farthest: k`` the k with the largest (farthest first); ``features`` is a
feature set of ``crossling.utils.typology`` (default ``syntax``); ``from`` defaults to every
language the task declares that URIEL knows, less ``to``. Building the config replaces the rule
by the chosen list and writes ``train_language_selection`` next to it: the rule (with its
candidates spelled out) and every candidate's distance, nearest first, so the resolved
``config.yaml`` and the manifest say why these languages were chosen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crossling.errors import ConfigError
from crossling.utils import typology

#: Help text of ``task.train_languages`` and ``task.train_language_selection`` (``crossling options``).
TRAIN_LANGUAGES_HELP = (
    "Languages whose train split is used, or {nearest|farthest: k, to: LANG, features: syntax, from: [...]}: "
    "the k languages of `from` (default: all of the task's) nearest to / farthest from LANG by URIEL distance."
)
SELECTION_HELP = "Written when a nearest/farthest rule chose train_languages: the rule and every candidate's distance."

RULE_KEYS = ("nearest", "farthest", "to", "features", "from")

#: Every language a task declares, by task name (the task registry's, handed in by the layers above).
TaskLanguages = Callable[[str], Sequence[str]]


def _check_rule(rule: Mapping[str, Any], key: str) -> tuple[str, int]:
    """``(direction, k)`` of a well-formed rule; a one-line ``ConfigError`` naming the key otherwise."""
    unknown = [str(name) for name in rule if name not in RULE_KEYS]
    if unknown:
        raise ConfigError(f"{key}: unknown key {unknown[0]!r} (valid: {', '.join(RULE_KEYS)})")
    directions = [name for name in ("nearest", "farthest") if name in rule]
    if len(directions) != 1:
        raise ConfigError(f"{key}: give exactly one of nearest: k or farthest: k, got {directions or 'neither'}")
    direction = directions[0]
    k = rule[direction]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"{key}.{direction}: expected an integer >= 1, got {k!r}")
    if not isinstance(rule.get("to"), str):
        raise ConfigError(f"{key}.to: expected the language distances are measured to, got {rule.get('to')!r}")
    features = rule.get("features", "syntax")
    if features not in typology.FEATURE_SETS:
        known = ", ".join(typology.FEATURE_SETS)
        raise ConfigError(f"{key}.features: unknown URIEL feature set {features!r}; known: {known}")
    return direction, k


def _candidates(
    rule: Mapping[str, Any], key: str, task: str, task_languages: TaskLanguages | None
) -> tuple[list[str], bool]:
    """``(candidate languages without the target, whether they were listed in from)``."""
    listed = rule.get("from")
    if listed is None:
        if task_languages is None:
            raise ConfigError(f"{key}.from: list the candidate languages (the task registry is not at hand here)")
        listed = list(task_languages(task))
    elif not isinstance(listed, list) or not all(isinstance(code, str) for code in listed):
        raise ConfigError(f"{key}.from: expected a list of language codes, got {listed!r}")
    return [code for code in dict.fromkeys(listed) if code != rule["to"]], "from" in rule


def _distances(target: str, candidates: list[str], features: str, key: str, explicit: bool) -> dict[str, float]:
    """Every candidate's distance to ``target``, nearest first; languages URIEL lacks fail if listed, else are skipped."""
    try:
        typology.typology_vector(target, features)
    except ConfigError as exc:
        raise ConfigError(f"{key}.to: {exc}") from None
    known = []
    for code in candidates:
        try:
            typology.typology_vector(code, features)
        except ConfigError as exc:
            if explicit:
                raise ConfigError(f"{key}.from: {exc}") from None
            continue  # a task's own languages URIEL cannot place (e.g. a context-question pair) are no candidates
        known.append(code)
    return {code: round(distance, 6) for code, distance in typology.rank_by_similarity(target, known, features)}


def select_languages(
    rule: Mapping[str, Any], *, key: str, task: str, task_languages: TaskLanguages | None = None
) -> tuple[list[str], dict[str, Any]]:
    """``(chosen languages, record)`` of one nearest/farthest rule (see the module docstring).

    The record is ``{"rule": {...the rule, from spelled out...}, "distances": {candidate: distance}}``
    with the candidates nearest first. Bad input (unknown key, both or neither of nearest and
    farthest, k larger than the candidates, a language or feature set URIEL lacks, lang2vec not
    installed) is a one-line ``ConfigError`` naming ``key``.
    """
    direction, k = _check_rule(rule, key)
    features = rule.get("features", "syntax")
    candidates, explicit = _candidates(rule, key, task, task_languages)
    distances = _distances(rule["to"], candidates, features, key, explicit)
    if k > len(distances):
        raise ConfigError(
            f"{key}.{direction}: {k} languages asked for, but only {len(distances)} candidates "
            f"({', '.join(distances) or 'none'}) besides {rule['to']!r}"
        )
    ranked = list(distances)
    chosen = ranked[:k] if direction == "nearest" else ranked[::-1][:k]
    spelled = {direction: k, "to": rule["to"], "features": features, "from": list(distances)}
    return chosen, {"rule": spelled, "distances": distances}


def raw_task_sections(raw: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(dotted key, section)`` of every task section in raw config data: the target, each intermediate
    stage's, each mixture member's (``intermediate[i].mixture[j].task``) and the diversity pool's."""
    sections = [("task", raw.get("task"))]
    stages = raw.get("intermediate") if isinstance(raw.get("intermediate"), list) else []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        sections.append((f"intermediate[{i}].task", stage.get("task")))
        members = stage.get("mixture") if isinstance(stage.get("mixture"), list) else []
        sections += [
            (f"intermediate[{i}].mixture[{j}].task", m.get("task"))
            for j, m in enumerate(members)
            if isinstance(m, dict)
        ]
    diversity = raw.get("diversity") if isinstance(raw.get("diversity"), dict) else {}
    pool = diversity.get("pool") if isinstance(diversity.get("pool"), list) else []
    sections += [(f"diversity.pool[{j}]", task) for j, task in enumerate(pool)]
    return [(key, section) for key, section in sections if isinstance(section, dict)]


def resolve_selections(
    raw: Mapping[str, Any], *, default_task: str, task_languages: TaskLanguages | None = None
) -> dict[str, Any]:
    """A copy of raw config data whose nearest/farthest rules are replaced by the chosen lists and their records.

    A section whose ``train_languages`` is a list keeps its ``train_language_selection`` only while
    that record still chose this list (an override that lists languages drops a stale record).
    """
    out = copy.deepcopy(dict(raw))
    for key, section in raw_task_sections(out):
        languages = section.get("train_languages")
        if isinstance(languages, Mapping):
            task = section.get("name", default_task)
            chosen, record = select_languages(
                languages, key=f"{key}.train_languages", task=task, task_languages=task_languages
            )
            section["train_languages"], section["train_language_selection"] = chosen, record
        elif isinstance(section.get("train_language_selection"), dict) and not _chose(section, languages):
            del section["train_language_selection"]
    return out


def _chose(section: Mapping[str, Any], languages: Any) -> bool:
    """Whether the section's recorded rule chose exactly ``languages``."""
    record = section["train_language_selection"]
    rule, distances = record.get("rule"), record.get("distances")
    if not isinstance(rule, dict) or not isinstance(distances, dict) or not isinstance(languages, (list, tuple)):
        return False
    k, distances = rule.get("nearest") or rule.get("farthest"), list(distances)
    if not isinstance(k, int):
        return False
    chosen = distances[:k] if "nearest" in rule else distances[::-1][:k]
    return list(languages) == chosen


def manifest_selections(config: Any) -> dict[str, Any]:
    """``{"train_language_selection": {dotted key: record}}`` of an ``ExperimentConfig``'s rule-chosen tasks, else ``{}``."""
    tasks = [("task", config.task)] + [(f"intermediate[{i}].task", s.task) for i, s in enumerate(config.intermediate)]
    tasks += [
        (f"intermediate[{i}].mixture[{j}].task", member.task)
        for i, stage in enumerate(config.intermediate)
        for j, member in enumerate(stage.mixture)
    ]
    chosen = {key: task.train_language_selection for key, task in tasks if task.train_language_selection}
    return {"train_language_selection": chosen} if chosen else {}
