"""Rate limits as Exact Online counts them: fixed windows per key, with the headers it sends."""

from __future__ import annotations

import time


class RateLimits:
    """Fixed windows per key (Exact: per division): one per clock minute, one per UTC day.

    ``day_seconds`` shortens the day in tests; "midnight" is then every multiple of it.
    """

    def __init__(self) -> None:
        self.day_seconds = 86400.0
        self._minute: dict[str, list[float]] = {}
        self._day: dict[str, list[float]] = {}

    @staticmethod
    def _take(
        windows: dict[str, list[float]], key: str, now: float, length: float, limit: int | None
    ) -> tuple[bool, int, float]:
        start = now - now % length
        window = windows.get(key)
        if window is None or window[0] != start:
            window = windows[key] = [start, 0]
        if limit is None:
            return True, 0, start + length
        allowed = window[1] < limit
        if allowed:
            window[1] += 1
        return allowed, int(limit - window[1]), start + length

    def hit(
        self, key: str, per_minute: int | None, per_day: int | None
    ) -> tuple[bool, list[tuple[bytes, bytes]], float]:
        """Count one call; answer (allowed, rate-limit headers, seconds until the blocking window resets)."""
        now = time.time()
        day_ok, day_left, day_reset = self._take(self._day, key, now, self.day_seconds, per_day)
        minute_ok, minute_left, minute_reset = (
            (False, 0, now + 60)
            if not day_ok
            else self._take(self._minute, key, now, 60, per_minute)
        )
        headers: list[tuple[bytes, bytes]] = []
        if per_day is not None:
            headers += _limit_headers(b"X-RateLimit", per_day, day_left, day_reset)
        if per_minute is not None:
            headers += _limit_headers(
                b"X-RateLimit-Minutely", per_minute, minute_left, minute_reset
            )
        wait = (day_reset if not day_ok else minute_reset) - now
        return day_ok and minute_ok, headers, wait

    def clear(self) -> None:
        self._minute.clear()
        self._day.clear()

    def state(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        return dict(self._minute), dict(self._day)

    def load_state(self, state: tuple[dict[str, list[float]], dict[str, list[float]]]) -> None:
        self._minute, self._day = dict(state[0]), dict(state[1])


def _limit_headers(
    prefix: bytes, limit: int, remaining: int, reset_at: float
) -> list[tuple[bytes, bytes]]:
    return [
        (prefix + b"-Limit", str(limit).encode()),
        (prefix + b"-Remaining", str(max(remaining, 0)).encode()),
        (prefix + b"-Reset", str(int(reset_at * 1000)).encode()),
    ]
