"""The metric-pack API: what a metric plugin declares and implements."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from .connector import NAME_RE, Option

if TYPE_CHECKING:
    from .metrics import MetricContext

UNITS = ("currency", "percent", "ratio", "count", "seconds", "score")
DIRECTIONS = ("up", "down")


@dataclass(frozen=True)
class Metric:
    """One metric a pack computes. `definition` states the formula the user gets."""

    name: str
    title: str
    unit: str
    direction: str
    definition: str


class MetricPack:
    """A set of metrics computed from canonical tables (and other packs' outputs)."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    # Canonical tables the pack needs rows in; a tuple entry means "any one of these".
    requires: ClassVar[tuple[str | tuple[str, ...], ...]] = ()
    requires_packs: ClassVar[tuple[str, ...]] = ()   # must have run (and not been skipped)
    uses_packs: ClassVar[tuple[str, ...]] = ()       # run after these when installed, else carry on
    parameters: ClassVar[tuple[Option, ...]] = ()
    metrics: ClassVar[tuple[Metric, ...]] = ()

    def __init__(self, params: Mapping[str, Any] | None = None):
        self.params = dict(params or {})

    @classmethod
    def validate(cls, params: Mapping[str, Any]) -> None:
        """Check the parameters in depth before any pack runs (default: nothing beyond `parameters`).

        `params` are already resolved against `parameters` (known keys, types, choices, ranges,
        defaults). Raise ValueError for a mistake; give it a `key` attribute (dotted, under
        `packs.<name>`, e.g. "weights.usage") and optionally `message` to name the setting:
        csconnect reports `csconnect.toml: packs.<name>.<key>: <message>` and runs no pack.
        """

    def definitions(self) -> tuple[Metric, ...]:
        """The metrics as this instance computes them: override to state the active parameters."""
        return tuple(self.metrics)

    def run(self, ctx: "MetricContext") -> None:
        """Compute the pack's metrics and write them through ctx."""
        raise NotImplementedError(f"{type(self).__name__}.run")


def validate_pack_class(cls: Any) -> None:
    """Raise ValueError naming what a registered metric pack class lacks."""
    if not (isinstance(cls, type) and issubclass(cls, MetricPack)):
        raise ValueError(f"{cls!r} is not a csconnect.MetricPack subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(f"{cls.__name__}.name must be a lower-case identifier, got {name!r}")
    for m in cls.metrics:
        if not NAME_RE.match(m.name):
            raise ValueError(f"pack {name!r}: metric name {m.name!r} is not a lower-case identifier")
        if m.unit not in UNITS:
            raise ValueError(f"pack {name!r}: metric {m.name!r} unit must be one of {', '.join(UNITS)}")
        if m.direction not in DIRECTIONS:
            raise ValueError(f"pack {name!r}: metric {m.name!r} direction must be 'up' or 'down'")
        if not m.definition:
            raise ValueError(f"pack {name!r}: metric {m.name!r} has no definition")
