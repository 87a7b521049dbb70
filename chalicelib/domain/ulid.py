"""ULIDs: 48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 characters.

Monotonic within one generator: two ids made in the same millisecond still sort in creation
order (the random part is incremented), so event ids are time-ordered.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_MAX_RANDOM = (1 << 80) - 1


def encode(timestamp_ms: int, randomness: int) -> str:
    if not 0 <= timestamp_ms < (1 << 48):
        raise ValueError("timestamp out of range")
    if not 0 <= randomness <= _MAX_RANDOM:
        raise ValueError("randomness out of range")
    value = (timestamp_ms << 80) | randomness
    chars = []
    for _ in range(26):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def decode_timestamp_ms(ulid: str) -> int:
    if len(ulid) != 26:
        raise ValueError("a ULID has 26 characters")
    value = 0
    for ch in ulid.upper():
        if ch not in _DECODE:
            raise ValueError(f"invalid ULID character {ch!r}")
        value = (value << 5) | _DECODE[ch]
    if value >> 128:
        raise ValueError("ULID overflows 128 bits")
    return value >> 80


def is_valid(ulid: str) -> bool:
    try:
        decode_timestamp_ms(ulid)
    except ValueError:
        return False
    return True


class UlidGenerator:
    def __init__(self, random_bits: Callable[[], int] | None = None) -> None:
        self._random_bits = random_bits or (lambda: int.from_bytes(os.urandom(10), "big"))
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self, timestamp_ms: int) -> str:
        with self._lock:
            if timestamp_ms <= self._last_ms:
                # Same (or earlier, if the clock stepped back) millisecond: stay monotonic.
                timestamp_ms = self._last_ms
                randomness = self._last_random + 1
                if randomness > _MAX_RANDOM:
                    timestamp_ms += 1
                    randomness = self._random_bits() & _MAX_RANDOM
            else:
                randomness = self._random_bits() & _MAX_RANDOM
            self._last_ms, self._last_random = timestamp_ms, randomness
            return encode(timestamp_ms, randomness)
