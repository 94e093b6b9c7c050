"""A bound on failed logins per username and client, against password guessing."""

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

# Keys are (username, client address). The oldest key is dropped past this count, so a flood of
# made-up usernames costs bounded memory; it can only shorten some other key's lockout.
MAX_TRACKED_KEYS = 10_000

LoginKey = tuple[str, str]


class LoginRateLimiter:
    """Reject logins for a key once it had `max_failures` failures in the last `window_s` seconds.

    The check runs before the password is verified, so a locked key learns nothing about whether
    its password is right, and a rejected attempt does not extend the lockout.
    """

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[LoginKey, deque[float]] = OrderedDict()

    def retry_after_s(self, key: LoginKey) -> int:
        """Return whole seconds until `key` may try again, or 0 when it may try now."""
        failures = self._recent(key)
        if len(failures) < self.max_failures:
            return 0
        return max(1, math.ceil(failures[0] + self.window_s - self._clock()))

    def record_failure(self, key: LoginKey) -> None:
        failures = self._recent(key)
        failures.append(self._clock())
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def reset(self, key: LoginKey) -> None:
        """Forget the failures of `key` after a successful login."""
        self._failures.pop(key, None)

    def _recent(self, key: LoginKey) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
