"""Gold labels from meanings: NLI entailment under the same-event convention, and paraphrase identity."""

from __future__ import annotations

from crossling.data.template.meaning import Event

NLI_LABELS = ("entailment", "neutral", "contradiction")


def nli_label(premise: Event, hypothesis: Event) -> str:
    """The NLI label of ``hypothesis`` given ``premise``, reading both as the same single event.

    With ``P``/``H`` the sets of modifiers (place, time, colour, size) each specifies,
    ``conflict`` = a modifier both specify with different values:

    * same roles, both positive: ``conflict`` -> contradiction; ``H ⊆ P`` -> entailment;
      otherwise (``H`` adds something ``P`` leaves open) -> neutral.
    * roles swapped (``Anna saw Peter`` / ``Peter saw Anna``), both positive -> contradiction.
    * positive premise, negated hypothesis: ``H ⊆ P`` -> contradiction; otherwise (it
      negates a more specific event than the premise states) -> neutral.
    * negated premise, positive hypothesis: ``P ⊆ H`` -> contradiction; otherwise (the
      hypothesis leaves open a modifier the premise negated with) -> neutral.
    * both negated (negation is downward monotone): ``P ⊆ H`` -> entailment; ``H ⊊ P`` -> neutral.

    Raises ``ValueError`` for combinations the generator never produces (different events,
    conflicting negations), so a generator bug cannot slip a wrong label through.
    """
    p, h = premise.specified(), hypothesis.specified()
    conflict = any(name in h and h[name] != value for name, value in p.items())
    h_within_p = all(p.get(name) == value for name, value in h.items())
    p_within_h = all(h.get(name) == value for name, value in p.items())
    same_core = premise.core() == hypothesis.core()
    if not same_core:
        if (
            premise.thing is None
            and not premise.negated
            and not hypothesis.negated
            and hypothesis == _swap(premise, hypothesis)
        ):
            return "contradiction"
        raise ValueError(f"no NLI label for different events {premise} / {hypothesis}")
    if not premise.negated and not hypothesis.negated:
        return "contradiction" if conflict else ("entailment" if h_within_p else "neutral")
    if not premise.negated and hypothesis.negated and not conflict:
        return "contradiction" if h_within_p else "neutral"
    if premise.negated and not hypothesis.negated and not conflict:
        return "contradiction" if p_within_h else "neutral"
    if premise.negated and hypothesis.negated and not conflict:
        if p_within_h:
            return "entailment"
        if h_within_p:
            return "neutral"
    raise ValueError(f"no NLI label defined for {premise} / {hypothesis}")


def _swap(premise: Event, hypothesis: Event) -> Event | None:
    """``hypothesis`` if it is ``premise`` with swapped roles and a subset of its modifiers, else ``None``."""
    if hypothesis.thing is not None or (hypothesis.agent, hypothesis.patient) != (premise.patient, premise.agent):
        return None
    if hypothesis.action != premise.action:
        return None
    h, p = hypothesis.specified(), premise.specified()
    return hypothesis if all(p.get(name) == value for name, value in h.items()) else None


def is_paraphrase(a: Event, b: Event) -> bool:
    """Paraphrase label: the two sentences state exactly the same meaning (word order aside)."""
    return a == b
