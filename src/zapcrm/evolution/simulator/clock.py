"""Time and identifiers for the simulator: an injectable clock and counter-derived ids."""

from __future__ import annotations

import hashlib
import random
import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "IdFactory", "ManualClock", "SystemClock", "iso_utc", "seeded_random"]

# 2025-11-16T20:49:42Z: the instant of the real 2.3.6 payload quoted in §1.6.
DEFAULT_TEST_EPOCH = 1763326182.0


class Clock(Protocol):
    """Where the simulator reads "now" (epoch seconds, UTC)."""

    def now(self) -> float:
        """The current time in epoch seconds."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        """The current time in epoch seconds."""
        return time.time()


class ManualClock:
    """A clock that only moves when told to, so test payloads carry fixed timestamps."""

    def __init__(self, start: float = DEFAULT_TEST_EPOCH) -> None:
        self._now = start

    def now(self) -> float:
        """The current time in epoch seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self._now += seconds


def iso_utc(epoch: float) -> str:
    """Format epoch seconds the way JavaScript's `toISOString()` does."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class IdFactory:
    """Ids derived from (seed, counter): the same seed always yields the same sequence."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counter = 0

    def _digest(self, kind: str) -> str:
        self._counter += 1
        text = f"{self._seed}:{kind}:{self._counter}".encode()
        return hashlib.sha256(text).hexdigest()

    def message_id(self, source: str) -> str:
        """A WhatsApp message id in the style of the sending platform."""
        digest = self._digest("message").upper()
        if source == "web":
            return "3EB0" + digest[:18]  # Baileys/web ids (API sends, §2.2)
        if source == "ios":
            return "3A" + digest[:18]
        return digest[:32]  # Android ids are 32 upper-case hex characters

    def uuid(self, *, upper: bool = False) -> str:
        """A version-4-shaped UUID (instance ids; upper-case for generated tokens, §4)."""
        digest = self._digest("uuid")
        variant = "89ab"[int(digest[16], 16) % 4]
        value = (
            f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"
        )
        return value.upper() if upper else value

    def cuid(self) -> str:
        """An Evolution database row id (Prisma cuid), as in `messages.update.messageId`."""
        number = int(self._digest("cuid"), 16)
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        chars = []
        for _ in range(24):
            number, index = divmod(number, 36)
            chars.append(alphabet[index])
        return "c" + "".join(chars)

    @staticmethod
    def lid(phone: str) -> str:
        """The digits of a person's Linked ID (15 digits, never a phone number).

        Derived from the phone alone, not from the seed: WhatsApp keeps a person's lid, so a
        restarted simulator (a new seed) must too, or every restart of the demo met its @lid
        customers as new people."""
        return str(
            10**14 + int(hashlib.sha256(f"lid:{phone}".encode()).hexdigest(), 16) % (9 * 10**14)
        )

    def pairing_code(self) -> str:
        """An 8-character pairing code."""
        alphabet = "ABCDEFGHJKLMNPQRSTVWXYZ0123456789"
        number = int(self._digest("pairing"), 16)
        return "".join(alphabet[(number >> (5 * i)) % len(alphabet)] for i in range(8))


def seeded_random(seed: int, stream: str) -> random.Random:
    """An independent RNG stream for one concern, so draws in one never shift another."""
    # S311: a simulator's jitter and fault dice need reproducibility, not secrecy.
    return random.Random(f"{seed}:{stream}")  # noqa: S311
