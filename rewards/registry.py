"""Reward terms registered by name, resolved and checked when an environment is built.

A term is a function `term(ctx: StepContext, **params) -> float`, or a class
deriving from `RewardTerm` whose constructor takes the params and whose instances
are called with the context each step (for terms that need episode memory). Terms
return magnitudes or counts; the weight in the scene carries the sign, as in
Isaac Lab, so `time_penalty` with weight -1 costs 1 per step.

User terms are referenced as `"package.module:function"`. Only a Python function or
a `RewardTerm` subclass is accepted, checked before anything is called: anything
else (`subprocess:Popen`, `os:system`) would be called with the scene's params when
the env is built, so a scene file could run any callable of any importable module.
Importing the module still runs its top-level code, as for Hydra's `_target_`: a
`module:function` term has the trust of a Python file.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envkit.hints import suggest

if TYPE_CHECKING:
    from envkit.context import StepContext

TermFn = Callable[..., float]

#: name -> term function or RewardTerm subclass
REGISTRY: dict[str, Any] = {}


class RewardTerm:
    """Base for stateful terms: `reset(ctx)` at every episode start, `__call__(ctx)` every step."""

    #: whether the term is potential-based shaping (the lint needs to know)
    potential_based: bool = False

    def reset(self, ctx: StepContext) -> None:
        """Called after every env reset with the initial context (step 0)."""

    def __call__(self, ctx: StepContext) -> float:  # pragma: no cover - interface
        raise NotImplementedError


ACCEPTED = (
    "A reward term must be a Python function `def f(ctx, **params) -> float` or a class deriving "
    "from rewards.RewardTerm"
)


def not_a_term(obj: Any) -> str | None:
    """Why `obj` cannot be a reward term ("is a built-in function"), or None when it can.

    Looks at the object only (never calls it): `resolve` runs this before a term's
    params reach anything, which is what keeps a scene file from running code.
    """
    if inspect.isfunction(obj):
        return None
    if inspect.isclass(obj):
        return (
            None if issubclass(obj, RewardTerm) else "is a class that does not derive from rewards.RewardTerm"
        )
    if inspect.isbuiltin(obj):
        return "is a built-in function, not a Python function"
    return f"is a {type(obj).__name__} object, not a function or a RewardTerm class"


#: A check of a term's params at scene load: params as written -> one message per problem.
ParamCheck = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class LintProfile:
    """What a term pays, as plain data for the reward lint (`envkit.analysis.profiles` reads it).

    `kind` names one of the lint's term models and `params` configure it; the terms
    never import the analysis. The models (see envkit/analysis/profiles.py):

    - `per_step` (`value`): the same value every step (time_penalty);
    - `event` (`outcomes`: outcome -> value per occurrence, `count`: "objects" or a
      number of occurrences per episode, `what`): paid when an outcome happens;
      outcomes are 'correct_bin', 'wrong_bin', 'floor', 'collision', 'success';
    - `success` (`once_param`): paid on success, once or every success step;
    - `progress`: goal progress that telescopes over an episode (distance_progress);
    - `distance` (`to`: "goal" or "object", `kernel`: "linear" or "tanh",
      `std_param`, `default_std`, `what`): a dense function of a distance;
    - `lifted`: per object held up; `action_norm`: the squared action norm;
    - `potential`: gamma * phi(s') - phi(s), modelled through its phi.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: str, **params: Any) -> LintProfile:
        """`LintProfile.of("event", outcomes={"floor": 1.0}, count="objects")`."""
        return cls(kind, params)


def register(
    name: str | None = None,
    *,
    requires: tuple[str, ...] = (),
    state_function: bool | None = None,
    profile: LintProfile | None = None,
    check: ParamCheck | None = None,
) -> Callable[[Any], Any]:
    """Register a term under `name` (default: the function's name), with what the analysis needs to know.

    Everything about a term is declared here, once:
    - `requires` lists scene features the term needs ('goal', 'bins', 'objects',
      'collisions', 'gripper'); `envkit lint` reports terms that cannot fire in a scene.
    - `state_function`: True when the value depends on the current state alone (a
      valid potential for `potential`), False when it reads the step's events, the
      action or the previous step (the lint warns when one is used as phi); None: not
      said.
    - `profile`: what the term pays, for the lint (`LintProfile`); without one the
      lint reports the term as not analysed.
    - `check` validates param values when the scene loads (e.g. `positive("std")`), so
      a value the term cannot use fails `envkit validate` instead of the first step; it
      becomes the term's `check_spec_params`, which a class may also define itself.
    """
    if profile is not None and not isinstance(profile, LintProfile):
        raise TypeError(f"register(profile=...) takes a rewards.LintProfile, got {type(profile).__name__}")

    def deco(obj: Any) -> Any:
        key = name or obj.__name__
        why = not_a_term(obj)
        if why is not None:
            raise TypeError(f"cannot register reward term '{key}': it {why}. {ACCEPTED}.")
        if key in REGISTRY and REGISTRY[key] is not obj:
            raise ValueError(f"reward term '{key}' is already registered")
        obj.requires = tuple(requires)
        obj.state_function = state_function
        obj.profile = profile
        if check is not None:
            obj.check_spec_params = _named_check(key, check)
        REGISTRY[key] = obj
        return obj

    return deco


def _named_check(term: str, check: ParamCheck) -> ParamCheck:
    def named(params: dict[str, Any]) -> list[str]:
        return [f"reward term '{term}': {msg}" for msg in check(params)]

    return named


def _text_number_hint(value: Any) -> str:
    """PyYAML (YAML 1.1) reads `1e-3` as text: say so, it looks like a number to everyone else."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f" (YAML reads {value} as text; write it with a dot, e.g. 0.001 or 1.0e-3)"
    return ""


def positive(*names: str) -> ParamCheck:
    """A `register(check=...)` check: each named param, where given, is a number > 0."""

    def check(params: dict[str, Any]) -> list[str]:
        problems = []
        for n in names:
            value = params.get(n, 1.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                problems.append(
                    f"parameter '{n}' must be a number > 0, got {value!r}{_text_number_hint(value)}"
                )
        return problems

    return check


def resolve(term: str) -> Any:
    """A registered name or a `module:attribute` reference -> the term function/class.

    Raises LookupError when the name is unknown or the object is not a term (see
    `not_a_term`); nothing is called either way.
    """
    obj = _lookup(term)
    why = not_a_term(obj)
    if why is not None:
        raise LookupError(f"reward term '{term}' {why}. {ACCEPTED}; nothing was called.")
    return obj


def _lookup(term: str) -> Any:
    if term in REGISTRY:
        return REGISTRY[term]
    if ":" in term:
        module_name, _, attr = term.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise LookupError(
                f"cannot import module '{module_name}' for reward term '{term}' ({exc}). "
                "Check the module is importable (installed, or on PYTHONPATH)."
            ) from None
        obj = getattr(module, attr, None)
        if obj is None or not callable(obj):
            raise LookupError(f"module '{module_name}' has no callable '{attr}' for reward term '{term}'")
        return obj
    known = sorted(REGISTRY)
    raise LookupError(
        f"unknown reward term '{term}'{suggest(term, known)} Known terms: {', '.join(known)}; "
        "or reference your own as 'module:function'."
    )


def _signature_params(obj: Any) -> tuple[inspect.Signature, list[inspect.Parameter]]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    sig = inspect.signature(target)
    params = list(sig.parameters.values())
    # functions: first positional parameter is the context; classes: `self`
    params = params[1:]
    return sig, [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_params(term: str, obj: Any, params: dict[str, Any]) -> list[str]:
    """Compare given params with the term's signature; one message per problem."""
    sig, accepted = _signature_params(obj)
    names = [p.name for p in accepted]
    has_var_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
    problems = []
    described = (
        ", ".join(
            f"{p.name}" + ("" if p.default is inspect.Parameter.empty else f" (default {p.default!r})")
            for p in accepted
        )
        or "no parameters"
    )
    for key in params:
        if key not in names and not has_var_kw:
            problems.append(
                f"reward term '{term}': unknown parameter '{key}'{suggest(key, names)} It accepts: {described}"
            )
    for p in accepted:
        if p.default is inspect.Parameter.empty and p.name not in params:
            problems.append(
                f"reward term '{term}': missing required parameter '{p.name}'. It accepts: {described}"
            )
    hints = _param_hints(obj)
    for key, value in params.items():
        if key in hints and key in names:
            wrong = _type_problem(hints[key], value)
            if wrong:
                problems.append(f"reward term '{term}': parameter '{key}' is {value!r}, but the term declares "
                                f"{_type_name(hints[key])}: {wrong}.")
    return problems


def _param_hints(obj: Any) -> dict[str, Any]:
    """The term's parameter annotations, resolved; {} when they cannot be (a term with hints that
    do not resolve is not checked here, as before: it fails at its first step instead)."""
    import typing

    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # forward references to names the module only imports for type checking
        return {}
    hints.pop("return", None)
    return {k: v for k, v in hints.items() if v is not Any}


def _type_problem(annotation: Any, value: Any) -> str | None:
    """Why `value` (as YAML gave it) does not fit `annotation`, or None. Strict, so that "1" is not an
    int and true is not a number; a YAML list may stand for a tuple."""
    from pydantic import TypeAdapter, ValidationError

    try:
        adapter = TypeAdapter(annotation)
    except Exception:  # not a type pydantic understands (a context class, a protocol): not checked
        return None
    candidates = [value, tuple(value)] if isinstance(value, list) else [value]
    messages = []
    for candidate in candidates:
        try:
            adapter.validate_python(candidate, strict=True)
            return None
        except ValidationError as exc:
            messages.append(exc.errors()[0]["msg"])
        except Exception:
            return None
    # a list tried as list and as tuple fails twice; the message about its items says more
    about_items = [m for m in messages if m not in ("Input should be a valid tuple", "Input should be a valid list")]
    return (about_items or messages)[0]


def _type_name(annotation: Any) -> str:
    import typing

    if typing.get_args(annotation):
        return str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", None) or str(annotation)


@dataclass
class BoundTerm:
    """A resolved term with its weight and parameters."""

    label: str
    term: str
    weight: float
    fn: Callable[[StepContext], float]
    stateful: bool
    requires: tuple[str, ...]

    def reset(self, ctx: StepContext) -> None:
        if self.stateful:
            self.fn.reset(ctx)  # type: ignore[attr-defined]


class RewardFunction:
    """The weighted sum of a scene's reward terms, returning each term's contribution."""

    def __init__(self, terms: list[BoundTerm]) -> None:
        self.terms = terms
        self.labels = [t.label for t in terms]

    def reset(self, ctx: StepContext) -> None:
        for t in self.terms:
            t.reset(ctx)

    def __call__(self, ctx: StepContext) -> tuple[float, dict[str, float]]:
        contributions: dict[str, float] = {}
        total = 0.0
        for t in self.terms:
            value = t.weight * float(t.fn(ctx))
            contributions[t.label] = value
            total += value
        return total, contributions


def expand_terms(reward: Any) -> list[Any]:
    """The RewardTermSpecs of a RewardSpec: the preset's terms, then the listed ones."""
    from envkit.spec import RewardTermSpec
    from rewards.presets import get_preset

    terms: list[RewardTermSpec] = []
    if reward.preset is not None:
        terms += [RewardTermSpec.model_validate(t) for t in get_preset(reward.preset)]
    terms += list(reward.terms)
    return terms


def bind(term_spec: Any) -> BoundTerm:
    """Resolve one RewardTermSpec; raises LookupError/ValueError with a clear message."""
    obj = resolve(term_spec.term)
    problems = check_params(term_spec.term, obj, term_spec.params)
    if problems:
        raise ValueError(problems[0])
    if inspect.isclass(obj):
        fn = obj(**term_spec.params)
        stateful = True
    else:
        params = dict(term_spec.params)

        def fn(ctx: StepContext, _f: Any = obj, _p: dict[str, Any] = params) -> float:
            return _f(ctx, **_p)

        stateful = False
    return BoundTerm(
        label=term_spec.label,
        term=term_spec.term,
        weight=float(term_spec.weight),
        fn=fn,
        stateful=stateful,
        requires=tuple(getattr(obj, "requires", ())),
    )


def build_reward(reward: Any) -> RewardFunction:
    """Build the reward function of a validated RewardSpec (checked by `check_reward_spec`)."""
    return RewardFunction([bind(t) for t in expand_terms(reward)])


def check_reward_spec(spec: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems in a scene's reward section, as (field path, message) pairs."""
    from rewards.presets import PRESETS

    problems: list[tuple[tuple[str | int, ...], str]] = []
    reward = spec.reward
    if reward.preset is not None and reward.preset not in PRESETS:
        problems.append(
            (
                ("reward", "preset"),
                f"unknown reward preset '{reward.preset}'{suggest(reward.preset, sorted(PRESETS))} "
                f"Presets: {', '.join(sorted(PRESETS))}",
            )
        )
        return problems
    terms = expand_terms(reward)
    if not terms:
        problems.append(
            (("reward",), "the reward has no terms: give a preset (e.g. reward: sort_v1) or a list of terms")
        )
    offset = len(terms) - len(reward.terms)
    labels: dict[str, int] = {}
    for i, t in enumerate(terms):
        loc: tuple[str | int, ...] = ("reward", "terms", i - offset) if i >= offset else ("reward", "preset")
        try:
            obj = resolve(t.term)
        except LookupError as exc:
            problems.append((loc + ("term",) if i >= offset else loc, str(exc)))
            continue
        messages = check_params(t.term, obj, t.params)
        if not messages and hasattr(obj, "check_spec_params"):
            # terms whose params name other terms (e.g. potential's phi) check them here
            messages = obj.check_spec_params(t.params)
        for msg in messages:
            problems.append((loc + ("params",) if i >= offset else loc, msg))
        if t.label in labels:
            problems.append(
                (
                    loc,
                    f"two reward terms are labelled '{t.label}'; give one a distinct `name:` so their logs differ",
                )
            )
        labels[t.label] = i
    return problems
