"""Login with a password, load-test logins, and the user lookup behind every bearer token."""

import hmac
import logging
import os
import re

import anyio
import anyio.to_thread

from agent_chat.errors import InvalidCredentials
from agent_chat.models import User
from agent_chat.passwords import UNUSABLE_PASSWORD, dummy_hash, verify_password
from agent_chat.storage import Database
from agent_chat.tokens import InvalidToken, TokenSigner

logger = logging.getLogger(__name__)

LOAD_USERNAME = re.compile(r"load(\d{5})")
INVALID_CREDENTIALS = "invalid username or password"


class Accounts:
    """Authenticate users and resolve bearer tokens to users."""

    def __init__(
        self, db: Database, signer: TokenSigner, load_secret: str | None, load_users: int
    ) -> None:
        self._db = db
        self.signer = signer
        self._load_secret = load_secret
        self._load_users = load_users
        # Users are never renamed or deleted, so cached entries cannot go stale.
        self._users: dict[int, User] = {}
        self._hash_limiter: anyio.CapacityLimiter | None = None

    async def login(self, username: str, password: str) -> User:
        """Return the user for valid credentials.

        Raises InvalidCredentials with the same message for every cause.
        """
        if self._is_load_user(username):
            return self._login_load_user(username, password)
        stored = self._db.get_login(username)
        password_hash = stored[1] if stored else dummy_hash()
        matches = await self._verify_in_thread(password, password_hash)
        if stored is None or not matches:
            raise InvalidCredentials(INVALID_CREDENTIALS)
        return stored[0]

    async def _verify_in_thread(self, password: str, password_hash: str) -> bool:
        # scrypt takes tens of milliseconds of CPU, so it runs in a worker thread to keep the event
        # loop free. One thread per core is enough, and each running hash needs 16 MiB.
        if self._hash_limiter is None:
            self._hash_limiter = anyio.CapacityLimiter(os.cpu_count() or 1)
        return await anyio.to_thread.run_sync(
            verify_password, password, password_hash, limiter=self._hash_limiter
        )

    def _is_load_user(self, username: str) -> bool:
        match = LOAD_USERNAME.fullmatch(username)
        return (
            self._load_secret is not None
            and match is not None
            and int(match.group(1)) < self._load_users
        )

    def _login_load_user(self, username: str, password: str) -> User:
        # Load-test users have a password derived from the secret, so no hash is stored or computed.
        expected = f"{self._load_secret}-{username}"
        if not hmac.compare_digest(password.encode(), expected.encode()):
            raise InvalidCredentials(INVALID_CREDENTIALS)
        return self._db.ensure_user(username, username, UNUSABLE_PASSWORD)

    def issue_token(self, user: User) -> str:
        return self.signer.issue(user.id)

    def user_for_token(self, token: str) -> User:
        """Return the user a token was issued to, or raise InvalidToken."""
        user = self.get_user(self.signer.verify(token))
        if user is None:
            raise InvalidToken("token for an unknown user")
        return user

    def get_user(self, user_id: int) -> User | None:
        user = self._users.get(user_id)
        if user is None:
            user = self._db.get_user(user_id)
            if user is not None:
                self._users[user_id] = user
        return user
