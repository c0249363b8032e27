"""Fault switches and webhook retry policies that make the simulator misbehave like the real one."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = ["RETRY_PRESETS", "Addressing", "FaultError", "Faults", "RetryPolicy"]

Addressing = Literal["pn", "pn_alt", "lid", "lid_no_alt"]
ADDRESSING_MODES: tuple[str, ...] = get_args(Addressing)

_NON_RETRYABLE_2_3 = frozenset({400, 401, 403, 404, 422})


class FaultError(ValueError):
    """A fault or retry setting that cannot be applied; the message names the field."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed webhook POST is retried (§1.5); delays are simulated seconds."""

    max_attempts: int = 10
    initial_delay: float = 5.0
    max_delay: float = 300.0
    jitter: float = 0.2
    exponential: bool = True
    non_retryable: frozenset[int] = _NON_RETRYABLE_2_3
    # Real seconds per attempt: a timeout is a property of the receiver, not of the schedule.
    timeout: float = 30.0

    def delay_after(self, failures: int, rng: random.Random) -> float:
        """The wait in simulated seconds after the given number of failed attempts."""
        base = self.initial_delay * (2 ** (failures - 1) if self.exponential else 1)
        base = min(base, self.max_delay)
        jittered = base + base * self.jitter * (2 * rng.random() - 1)
        # 2.3.x never waits less than the initial delay, even after negative jitter.
        return max(self.initial_delay, jittered)

    def as_dict(self) -> dict[str, Any]:
        """The policy as JSON."""
        data = dataclasses.asdict(self)
        data["non_retryable"] = sorted(self.non_retryable)
        return data


RETRY_PRESETS: dict[str, RetryPolicy] = {
    # 2.3.0+: 10 tries, 5 s doubling to 300 s, ±20 %, give up at once on 400/401/403/404/422.
    "2.3": RetryPolicy(),
    # 2.2.1–2.2.3: 10 tries every 30 s, 4xx retried too (#1325).
    "2.2": RetryPolicy(
        initial_delay=30.0, jitter=0.0, exponential=False, non_retryable=frozenset()
    ),
    # 1.x and 2.0–2.2.0: a single attempt.
    "none": RetryPolicy(max_attempts=1),
}


@dataclass
class Faults:
    """Switches applied per simulator or per instance; defaults reproduce plain 2.3.6."""

    duplicate_deliveries: int = 1  # each webhook POSTed this many times (§6.1)
    shuffle_statuses: bool = False  # send.message and its acks emitted in random order (§6.2)
    addressing: Addressing | None = None  # force every customer's addressing mode (§2.0)
    ninth_digit_rewrite: bool = False  # WhatsApp knows BR mobiles (DDD ≥ 31) without the 9 (§6.4)
    binary_objects: bool = True  # 2.3.6+ Long/byte objects; False gives ≤ 2.3.5 strings (§2.1)
    long_timestamps: bool = False  # messageTimestamp as a Long object (§6.3)
    expose_apikey: bool = True  # envelope `apikey` = instance token, else null (§1.7)
    v1_shapes: bool = False  # 1.8.x webhook data: `owner`, no `status` (§7)
    echo_sends_as_upsert: bool = False  # API sends also arrive as messages.upsert fromMe (#1340)
    rest_error_rate: float = 0.0  # share of /message/send* calls answered with a 5xx
    rest_error_status: int = 500
    rest_error_after_send: bool = False  # the 5xx comes after the message really went out
    send_latency: float = 0.0  # simulated seconds added before every send response
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["retry"] = self.retry.as_dict()
        return data

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with the given switches changed, validating names and types."""
        known = {f.name: f for f in dataclasses.fields(self)}
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise FaultError(f'unknown fault "{name}"')
            values[name] = _coerce(name, value, getattr(self, name))
        return dataclasses.replace(self, **values)


def _coerce(name: str, value: Any, current: Any) -> Any:
    if name == "retry":
        return _retry_policy(value, current)
    if name == "addressing":
        if value is not None and value not in ADDRESSING_MODES:
            raise FaultError(f"addressing must be one of {', '.join(ADDRESSING_MODES)} or null")
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise FaultError(f"{name} must be a boolean")
        return value
    if isinstance(current, int) and not isinstance(value, bool) and isinstance(value, int):
        if name == "duplicate_deliveries" and value < 1:
            raise FaultError("duplicate_deliveries must be at least 1")
        return value
    if (
        isinstance(current, float)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        if name == "rest_error_rate" and not 0.0 <= value <= 1.0:
            raise FaultError("rest_error_rate must be between 0 and 1")
        return float(value)
    raise FaultError(f"{name} has the wrong type")


def _retry_policy(value: Any, current: RetryPolicy) -> RetryPolicy:
    if isinstance(value, str):
        if value not in RETRY_PRESETS:
            raise FaultError(f"retry preset must be one of {', '.join(RETRY_PRESETS)}")
        return RETRY_PRESETS[value]
    if isinstance(value, RetryPolicy):
        return value
    if not isinstance(value, dict):
        raise FaultError("retry must be a preset name or an object")
    known = {f.name for f in dataclasses.fields(RetryPolicy)}
    unknown = set(value) - known
    if unknown:
        raise FaultError(f'unknown retry setting "{sorted(unknown)[0]}"')
    values = dict(value)
    for name, item in values.items():
        if name == "non_retryable":
            if not isinstance(item, list) or not all(isinstance(c, int) for c in item):
                raise FaultError("retry.non_retryable must be a list of status codes")
            values[name] = frozenset(item)
        elif name == "max_attempts":
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                raise FaultError("retry.max_attempts must be a positive integer")
        elif name == "exponential":
            if not isinstance(item, bool):
                raise FaultError("retry.exponential must be a boolean")
        elif isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
            raise FaultError(f"retry.{name} must be a non-negative number")
    try:
        return dataclasses.replace(current, **values)
    except TypeError as error:
        raise FaultError(str(error)) from None
