"""The objects one service instance is built from, wired together from Settings."""

import logging
from dataclasses import dataclass

from agent_chat.accounts import Accounts
from agent_chat.chat import ChatService
from agent_chat.config import Settings
from agent_chat.faults import FaultInjector
from agent_chat.ratelimit import LoginRateLimiter
from agent_chat.realtime import Hub
from agent_chat.seed import seed_database
from agent_chat.storage import Database
from agent_chat.tokens import TokenSigner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Storage, accounts, chat, WebSocket hub and fault injector of one instance."""

    settings: Settings
    db: Database
    hub: Hub
    accounts: Accounts
    chat: ChatService
    faults: FaultInjector
    login_limiter: LoginRateLimiter

    def close(self) -> None:
        self.faults.log_counts()
        self.db.close()


def build_services(settings: Settings) -> Services:
    """Open the database, seed it, and build the services on top of it."""
    db = Database(settings.db_path)
    agent = seed_database(db, settings.seed_password)
    hub = Hub()
    signer = TokenSigner(settings.token_secret, settings.token_ttl_s)
    return Services(
        settings=settings,
        db=db,
        hub=hub,
        accounts=Accounts(db, signer, settings.load_secret, settings.load_users),
        chat=ChatService(db, hub, agent),
        faults=FaultInjector(settings.faults),
        login_limiter=LoginRateLimiter(settings.login_max_failures, settings.login_window_s),
    )
