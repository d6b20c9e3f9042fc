"""Static checks of a scene's reward design: what a reward pays for, before any training.

`lint_scene(spec, gamma)` models every term (`envkit.analysis.profiles`) in the scene's
situation (`envkit.analysis.scenefacts`) and compares the discounted returns of a few
ways an episode can go: a fast success, a failed attempt that runs into the time
limit, quick exits (knock everything off the table, drop everything into a
wrong bin, provoke a terminating collision) and loitering. Each rule below says
what it assumes; `docs/reward-analytics.md` lists them for users.

Rules (id: severity):
- wrong-outcome-pays (error): a failure outcome (wrong bin, floor, collision)
  has a positive net reward, a wrong sort pays at least a correct one, or a
  success is punished.
- early-exit-trap (warning; error when the exit beats even a success): ending
  the episode on purpose returns more than a failed attempt.
- loitering-trap (error; warning when only a bootstrapping agent sees it): the
  best per-step reward without finishing, collected until the time limit (or
  forever, for an agent that bootstraps at the limit), beats finishing.
- scale-dominance (warning): one term's plausible per-episode size is more than
  `dominance` times another's, so the small one is noise.
- cannot-fire (warning): a term needs something the scene lacks, or its outcome
  cannot happen here.
- non-potential-shaping (warning): a dense hint added to a sparse task reward
  that is not potential-based, or a potential whose gamma is not the agent's.
- unanalysed-term (info): a user term without a lint model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envkit.analysis.profiles import BAD_OUTCOMES, TermProfile, outcome_terms, profiles, state_function
from envkit.analysis.scenefacts import Route, SceneFacts, scene_facts
from envkit.spec import SceneSpec

SEVERITIES = ("error", "warning", "info")
DEFAULT_GAMMA = 0.99
DEFAULT_DOMINANCE = 100.0

FEATURE_WHY = {
    "goal": "the scene has no goal",
    "bins": "the scene has no bins",
    "objects": "the scene has no objects",
    "collisions": "episode.terminate_on.collisions lists no body pairs, so no collision is ever detected",
    "gripper": "the robot has no gripper (robot.gripper: false), so nothing is ever pinched",
}
OUTCOME_WORDS = {
    "correct_bin": "an object reaching its correct bin",
    "wrong_bin": "an object reaching a wrong bin",
    "floor": "an object reaching the floor",
    "collision": "a terminating collision",
    "success": "success",
}


def _round_up(x: float) -> float:
    """A round number a bit above x (for suggested weights)."""
    import math

    if x <= 0:
        return 0.0
    mag = 10 ** math.floor(math.log10(x))
    return math.ceil(x * 1.5 / mag) * mag


@dataclass
class Finding:
    """One problem: severity, rule id, terms involved, explanation and suggested fix."""

    severity: str
    rule: str
    terms: tuple[str, ...]
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "terms": list(self.terms),
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class Scenario:
    """A way an episode can go and its estimated discounted return."""

    name: str
    steps: int
    value: float
    how: str


@dataclass
class LintReport:
    """Everything the lint concluded about one scene, plus the estimates behind it."""

    scene: str
    gamma: float
    findings: list[Finding]
    profiles: list[TermProfile]
    scenarios: list[Scenario]
    facts: SceneFacts
    inactive: set[str] = field(default_factory=set)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def clean(self) -> bool:
        """No errors and no warnings (info notes allowed)."""
        return not self.errors and not self.warnings


# ----------------------------------------------------------------------------- values


class _Values:
    """Discounted returns of routes under the active terms."""

    def __init__(self, f: SceneFacts, active: list[TermProfile]) -> None:
        self.f = f
        self.active = active
        self.step_rate = sum(p.per_step for p in active)
        self.idle_rate = sum(p.idle_best for p in active if p.kind in ("step", "dense"))
        self.success_rate = sum(p.at_success for p in active)
        self.termination = sum(p.at_termination for p in active)

    def outcome(self, name: str) -> float:
        return sum(p.outcomes.get(name, 0.0) for p in active_with(self.active, name))

    def route(self, r: Route, bootstrap: bool = False) -> float:
        """Discounted return of a route; a success that does not end the episode keeps paying
        `success_rate` per step until the limit (forever, with `bootstrap` and gamma < 1)."""
        f = self.f
        events = sum(count * self.outcome(o) for o, count in r.outcomes.items())
        value = self.step_rate * f.discounted_steps(r.steps) + f.discount_at(r.steps) * events
        if r.terminates:
            value += f.discount_at(r.steps) * self.termination
        if r.name == "success" and not r.terminates:
            if bootstrap and f.gamma < 1:
                tail = 1.0 / (1.0 - f.gamma)
            else:
                tail = f.discounted_steps(f.max_steps - r.steps)
            value += f.gamma**r.steps * self.success_rate * tail
        return value

    def timeout(self) -> float:
        return self.step_rate * self.f.discounted_steps(self.f.max_steps)


def active_with(ps: list[TermProfile], outcome: str) -> list[TermProfile]:
    return [p for p in ps if outcome in p.outcomes]


def _fmt(x: float) -> str:
    return f"{x:+.4g}"


def _contributions(ps: list[TermProfile], outcome: str) -> str:
    parts = [f"{p.label} {_fmt(p.outcomes[outcome])}" for p in ps if p.outcomes.get(outcome)]
    return " and ".join(parts) if parts else "nothing"


# ----------------------------------------------------------------------------- rules


def _cannot_fire(f: SceneFacts, ps: list[TermProfile]) -> tuple[list[Finding], set[str]]:
    spec = f.spec
    have = {
        "goal": spec.goal is not None,
        "bins": bool(spec.bins),
        "objects": f.n_objects > 0,
        "collisions": bool(spec.episode.terminate_on.collisions),
        "gripper": bool(spec.robot.gripper),
    }
    findings, dead = [], set()
    for p in ps:
        missing = [r for r in p.requires if not have.get(r, True)]
        why = ""
        if missing:
            why = "; ".join(FEATURE_WHY[m] for m in missing)
        elif p.kind == "event" and p.outcomes and not any(f.possible.get(o, True) for o in p.outcomes):
            why = _impossible_why(f, list(p.outcomes))
        if not why:
            continue
        dead.add(p.label)
        findings.append(
            Finding(
                "warning",
                "cannot-fire",
                (p.label,),
                f"Term '{p.label}' ({p.term}) can never be non-zero in scene '{spec.name}': {why}. "
                "It adds nothing to the reward, and a design that relies on it (as a penalty or as the "
                "task signal) does not do what it says.",
                f"Remove '{p.label}' from the reward, or change the scene so it can happen "
                f"({', '.join(missing) if missing else 'see above'}).",
            )
        )
    return findings, dead


def _impossible_why(f: SceneFacts, outcomes: list[str]) -> str:
    spec = f.spec
    bins = ", ".join(f"{b.name}: {'/'.join(b.accepts) or 'any shape'}" for b in spec.bins) or "none"
    shapes = "/".join(f.shapes) or "none"
    parts = []
    for o in outcomes:
        if o == "wrong_bin":
            parts.append(f"every bin accepts every shape this scene spawns (shapes {shapes}; bins {bins})")
        elif o == "correct_bin":
            parts.append(f"no bin accepts any shape this scene spawns (shapes {shapes}; bins {bins})")
        elif o == "success":
            parts.append("the scene has no success condition (episode.success resolves to 'none')")
        elif o == "floor":
            parts.append("the scene has no objects that could fall")
        elif o == "collision":
            parts.append(FEATURE_WHY["collisions"])
    return "; ".join(parts)


def _wrong_outcome(f: SceneFacts, ps: list[TermProfile], v: _Values) -> tuple[list[Finding], set[str]]:
    findings, flagged = [], set()
    n = max(f.n_objects, 1)
    for o in BAD_OUTCOMES:
        if not f.possible.get(o):
            continue
        net = v.outcome(o)
        if net <= 0:
            continue
        flagged.add(o)
        payers = tuple(p.label for p in ps if p.outcomes.get(o, 0.0) > 0)
        penalties = tuple(p.label for p in ps if p.outcomes.get(o, 0.0) < 0)
        pay = sum(p.outcomes[o] for p in ps if p.outcomes.get(o, 0.0) > 0)
        if o == "wrong_bin":
            bins = ", ".join(f"{b.name} accepts {'/'.join(b.accepts) or 'any shape'}" for b in f.spec.bins)
            msg = (
                f"A wrong sort pays {_fmt(net)} per object. In this scene objects are "
                f"{'/'.join(f.shapes)} and {bins}, so an object can land in a bin that does not accept it; "
                f"that fires {_contributions(ps, o)}. The agent is paid to sort wrongly: dropping each of the "
                f"{n} object(s) into the nearest bin collects {_fmt(n * net)} without ever telling shapes "
                "apart, which is much easier to find than the correct sort (Task B's v2 table paid +200 for "
                "exactly this)."
            )
            fix = (
                f"Make a wrong sort cost something: add `{{term: object_in_wrong_bin, weight: {-2 * pay:g}}}` "
                f"(any weight below {-pay:g} makes the net negative), or pay only correct sorts (drop the "
                "any-bin term, keep object_in_correct_bin). The preset sort_fixed does this."
            )
        elif o == "floor":
            msg = (
                f"Knocking an object to the floor pays {_fmt(net)} ({_contributions(ps, o)}). Pushing objects "
                "off the table is far easier than sorting them, so the agent learns that first."
            )
            fix = f"Give object_on_floor a negative weight (e.g. {-abs(pay):g}) and remove what pays for it."
        else:
            msg = f"A terminating collision pays {_fmt(net)} ({_contributions(ps, o)}): the agent is paid to crash."
            fix = "Give the collision term a negative weight."
        findings.append(Finding("error", "wrong-outcome-pays", payers + penalties, msg, fix))

    if f.possible.get("wrong_bin") and f.possible.get("correct_bin"):
        good, bad = v.outcome("correct_bin"), v.outcome("wrong_bin")
        if bad >= good and "wrong_bin" not in flagged:
            terms = tuple(p.label for p in ps if {"correct_bin", "wrong_bin"} & set(p.outcomes))
            findings.append(
                Finding(
                    "error",
                    "wrong-outcome-pays",
                    terms,
                    f"A wrong sort pays {_fmt(bad)} per object and a correct one {_fmt(good)}: the reward "
                    "cannot tell right from wrong, so nothing teaches the agent which bin takes which shape.",
                    "Pay correct sorts more than wrong ones, e.g. object_in_correct_bin with a positive weight "
                    "and object_in_wrong_bin with a negative one.",
                )
            )
    for o in ("correct_bin", "success"):
        if not f.possible.get(o):
            continue
        net = v.outcome(o)
        if net < 0:
            terms = tuple(p.label for p in ps if p.outcomes.get(o, 0.0) != 0)
            findings.append(
                Finding(
                    "error",
                    "wrong-outcome-pays",
                    terms,
                    f"{OUTCOME_WORDS[o].capitalize()} is punished: it pays {_fmt(net)} "
                    f"({_contributions(ps, o)}). The agent learns to avoid the task.",
                    "Check the sign of the weights: terms return magnitudes and the weight carries the sign, "
                    "so a bonus needs a positive weight.",
                )
            )
    return findings, flagged


def _early_exit(
    f: SceneFacts, ps: list[TermProfile], v: _Values, flagged: set[str]
) -> tuple[list[Finding], list[Scenario]]:
    findings: list[Finding] = []
    scenarios: list[Scenario] = []
    timeout = v.timeout()
    success = v.route(f.success) if f.success is not None else None
    for r in f.exits:
        value = v.route(r)
        scenarios.append(Scenario(f"exit:{r.name}", r.steps, value, r.how))
        if set(r.outcomes) & flagged:
            continue  # already reported: the exit pays outright
        if value <= timeout + 1e-9:
            continue
        events = sum(c * v.outcome(o) for o, c in r.outcomes.items())
        step_terms = tuple(p.label for p in ps if p.per_step < 0)
        event_terms = tuple(p.label for p in ps if set(p.outcomes) & set(r.outcomes))
        end_terms = tuple(p.label for p in ps if p.at_termination > 0) if r.terminates else ()
        beats_success = success is not None and value >= success
        base = (
            f"Ending the episode on purpose pays better than trying. Route '{r.name}': {r.how}, about "
            f"{r.steps} steps, returns {value:.4g} (gamma {f.gamma:g}: {v.step_rate:+.4g} per step"
            f"{', then ' + _fmt(events) + ' for the exit' if r.outcomes else ''}"
            f"{_termination_words(ps) if end_terms else ''}). An attempt that fails "
            f"runs to the {f.max_steps}-step limit and returns {timeout:.4g}."
        )
        if beats_success:
            msg = (
                base + f" Even a fast success (about {f.success.steps} steps) returns only {success:.4g}, so "
                "the optimal policy is to end the episode this way."
            )
            severity = "error"
        elif success is not None:
            p_star = (value - timeout) / (success - timeout)
            msg = (
                base + f" A fast success returns {success:.4g}, so trying only pays once the agent "
                f"succeeds in more than {p_star:.0%} of its attempts; a learner that rarely succeeds early "
                "on (every learner) converges to the exit instead."
            )
            severity = "warning"
        else:
            msg = base + " The scene has no reachable success, so the exit is the best policy."
            severity = "error"
        fix = _exit_fix(f, r, v, timeout)
        findings.append(Finding(severity, "early-exit-trap", event_terms + end_terms + step_terms, msg, fix))
    return findings, scenarios


def _termination_words(ps: list[TermProfile]) -> str:
    parts = [f"{_fmt(p.at_termination)} from potential '{p.label}'" for p in ps if p.at_termination > 0]
    return (
        ", plus " + ", ".join(parts) + " for ending at all (phi is 0 in a terminal state, so any ending "
        "cashes in -weight x phi of the state it ends from; the shaping of whole episodes still telescopes, "
        "but against running out of time every ending pays)"
    )


def _exit_fix(f: SceneFacts, r: Route, v: _Values, timeout: float) -> str:
    # event total E at the exit such that the exit is no better than timing out
    need = (timeout - v.step_rate * f.discounted_steps(r.steps)) / f.discount_at(r.steps) - v.termination
    per = sum(r.outcomes.values()) or 1.0
    parts = []
    if r.outcomes:
        o = next(iter(r.outcomes))
        now = v.outcome(o)
        cost = -need / per
        if any(o in p.outcomes for p in v.active):
            parts.append(f"make {OUTCOME_WORDS.get(o, o)} cost more than {cost:.3g} each (now {_fmt(now)})")
        else:
            parts.append(
                f"add `{{term: {outcome_terms()[o]}, weight: {-_round_up(cost)}}}` (anything costing more than "
                f"{cost:.3g} per {OUTCOME_WORDS.get(o, o)})"
            )
    else:
        parts.append(f"add a penalty of more than {-need:.3g} for this ending")
    rest = f.discounted_steps(f.max_steps) - f.discounted_steps(r.steps)
    events = sum(c * v.outcome(o) for o, c in r.outcomes.items()) + v.termination
    if v.step_rate < 0 and events < 0 and rest > 0:
        max_rate = f.discount_at(r.steps) * -events / rest
        parts.append(f"shrink the per-step penalty below {max_rate:.3g} per step")
    value = v.route(r)
    if v.step_rate < 0 and events < 0:
        # the longest episode in which timing out costs no more than this exit
        m = r.steps
        while m < f.max_steps and v.step_rate * f.discounted_steps(m + 1) >= value:
            m += 1
        parts.append(f"or shorten episode.max_steps to at most {m} (now {f.max_steps}) so a failed attempt "
                     "costs no more than this exit")
    elif v.termination > 0:
        names = ", ".join(f"'{p.label}'" for p in v.active if p.at_termination > 0)
        parts.append(f"a shorter episode.max_steps does not help here: the exit pays more than timing out at "
                     f"any episode length, because potential {names} pays {_fmt(v.termination)} for ending at "
                     "all")
    return "To remove the trap, " + "; ".join(parts) + "."


def _loitering(f: SceneFacts, ps: list[TermProfile], v: _Values) -> tuple[list[Finding], list[Scenario]]:
    if f.success is None or v.idle_rate <= 0:
        return [], []
    success = v.route(f.success)
    finite = v.idle_rate * f.discounted_steps(f.max_steps)
    scen = [Scenario("loiter", f.max_steps, finite, "collect the best per-step reward without finishing")]
    boot = v.idle_rate / (1.0 - f.gamma) if f.gamma < 1 else finite
    success_boot = v.route(f.success, bootstrap=True)
    if finite <= success and boot <= success_boot:
        return [], scen
    terms = tuple(p.label for p in ps if p.idle_best > 0)
    detail = ", ".join(f"{p.label} {_fmt(p.idle_best)}" for p in ps if p.idle_best > 0)
    base = (
        f"Never finishing pays better than finishing. Without completing the task the agent can collect "
        f"{v.idle_rate:+.4g} per step ({detail}"
        f"{', net of the per-step costs' if any(p.idle_best < 0 for p in ps) else ''})"
    )
    if finite > success:
        msg = (
            base + f", worth {finite:.4g} over the {f.max_steps}-step episode, while finishing "
            f"({f.success.how}, about {f.success.steps} steps) returns {success:.4g}. The optimal policy "
            "stalls just short of the goal."
        )
        sev = "error"
    else:
        msg = (
            base + f". Over the {f.max_steps}-step episode that is {finite:.4g}, less than finishing "
            f"({success:.4g}), but an agent that bootstraps its value at the time limit (as envkit's agents "
            f"do) values it at {boot:.4g} against {success_boot:.4g} for finishing, so it learns to stall."
        )
        sev = "warning"
    fix = (
        "Make finishing worth more than stalling: pay per-step bonuses only as potential-based shaping "
        "(`{term: potential, params: {phi: ...}}`), end the episode on success, or add a success bonus larger "
        f"than {max(finite - success, boot - success_boot):.3g}."
    )
    return [Finding(sev, "loitering-trap", terms, msg, fix)], scen


def _dominance(ps: list[TermProfile], ratio: float) -> list[Finding]:
    sized = [p for p in ps if p.kind != "unknown" and p.magnitude > 0]
    if len(sized) < 2:
        return []
    top = max(sized, key=lambda p: p.magnitude)
    findings = []
    for p in sized:
        r = top.magnitude / p.magnitude
        if r > ratio:
            findings.append(
                Finding(
                    "warning",
                    "scale-dominance",
                    (p.label, top.label),
                    f"Term '{p.label}' is about {r:.0f}x smaller than '{top.label}' per episode "
                    f"(~{p.magnitude:.3g} vs ~{top.magnitude:.3g}; {p.basis}; {top.basis}). Its signal is lost "
                    f"in the variance of '{top.label}', so it barely influences learning.",
                    f"Scale '{p.label}' up (weight x{min(r / 10, 1000):.0f} or so) if it matters, or drop it.",
                )
            )
    return findings


def _shaping(f: SceneFacts, ps: list[TermProfile]) -> list[Finding]:
    findings = []
    task = [
        p
        for p in ps
        if p.kind == "telescoping"
        or any(v > 0 for o, v in p.outcomes.items() if o in ("correct_bin", "success"))
    ]
    for p in ps:
        if p.kind == "dense" and p.shaping and task:
            sign = (
                "As a per-step cost it also adds to the pressure to end episodes early and to follow the "
                "gradient even where the task needs a detour."
                if p.weight < 0
                else "As a per-step bonus it also pays for hovering near the target without finishing."
            )
            findings.append(
                Finding(
                    "warning",
                    "non-potential-shaping",
                    (p.label,),
                    f"Term '{p.label}' ({p.term}, weight {p.weight:g}) is a dense hint added to the task reward "
                    f"({', '.join(t.label for t in task)}), but it is not potential-based, so it can change which "
                    f"policy is optimal, not just how fast one is found. {sign}",
                    f"Use it as a potential: `{{term: potential, weight: {p.weight:g}, params: {{phi: {p.term}, "
                    f"gamma: {f.gamma:g}}}}}` (Ng et al. 1999: the optimal policy is unchanged).",
                )
            )
        if p.kind == "potential":
            if p.gamma is not None and abs(p.gamma - f.gamma) > 1e-9:
                findings.append(
                    Finding(
                        "warning",
                        "non-potential-shaping",
                        (p.label,),
                        f"Potential term '{p.label}' shapes with gamma {p.gamma:g} but the agent discounts with "
                        f"{f.gamma:g}: the difference leaves {abs(p.gamma - f.gamma):.3g} x phi per step of "
                        "non-potential reward, so the optimal policy can shift.",
                        f"Set params.gamma to the agent's gamma ({f.gamma:g}), or lint with --gamma {p.gamma:g} "
                        "if that is the agent's.",
                    )
                )
            if p.phi is not None and state_function(p.phi) is False:
                findings.append(
                    Finding(
                        "warning",
                        "non-potential-shaping",
                        (p.label,),
                        f"Potential term '{p.label}' uses '{p.phi}' as phi, but {p.phi} depends on the step's "
                        "events or action, not on the state alone; the policy-invariance guarantee needs "
                        "phi(state).",
                        "Use a function of the state as phi (a distance, a height, a count of objects left).",
                    )
                )
    return findings


# ----------------------------------------------------------------------------- entry point


def lint_scene(
    spec: SceneSpec, gamma: float = DEFAULT_GAMMA, dominance: float = DEFAULT_DOMINANCE
) -> LintReport:
    """Run every rule on a validated scene. `gamma` is the discount of the agent that will train."""
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    f = scene_facts(spec, gamma)
    ps = profiles(f)
    findings, dead = _cannot_fire(f, ps)
    active = [p for p in ps if p.label not in dead]
    v = _Values(f, active)
    wrong, flagged = _wrong_outcome(f, active, v)
    exits, scenarios = _early_exit(f, active, v, flagged)
    loiter, loiter_scen = _loitering(f, active, v)
    scenarios = (
        ([Scenario("success", f.success.steps, v.route(f.success), f.success.how)] if f.success else [])
        + [Scenario("timeout", f.max_steps, v.timeout(), "try, fail, run into the time limit")]
        + scenarios
        + loiter_scen
    )
    findings = wrong + exits + loiter + findings + _dominance(active, dominance) + _shaping(f, active)
    for p in ps:
        if p.kind == "unknown":
            findings.append(
                Finding(
                    "info",
                    "unanalysed-term",
                    (p.label,),
                    f"Term '{p.label}' ({p.term}) is not a built-in term, so the lint does not know what it pays; "
                    "the other checks ignore it.",
                    "Give the term a `lint_profile(facts, weight, params)` attribute returning a "
                    "envkit.analysis.profiles.TermProfile, or run `envkit probe` to measure it.",
                )
            )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda x: order[x.severity])
    return LintReport(spec.name, gamma, findings, ps, scenarios, f, dead)
