"""Seed data of every instance: users alice, bob and carol, the agent user, and room "general"."""

import logging

from agent_chat.assistant import AGENT_DISPLAY_NAME, AGENT_USERNAME
from agent_chat.models import User
from agent_chat.passwords import UNUSABLE_PASSWORD, hash_password
from agent_chat.storage import Database

logger = logging.getLogger(__name__)

SEEDED_USERS = (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"))
GENERAL_ROOM = "general"


def seed_database(db: Database, seed_password: str | None) -> User:
    """Create missing seed data, set the seeded users' password, and return the agent user.

    The password is set on every start, so a restart with a new AGENT_CHAT_SEED_PASSWORD applies it.
    """
    password_hash = _seed_password_hash(seed_password)
    users = [
        db.ensure_user(username, display_name, password_hash)
        for username, display_name in SEEDED_USERS
    ]
    for user in users:
        db.set_password_hash(user.username, password_hash)
    agent = db.ensure_user(AGENT_USERNAME, AGENT_DISPLAY_NAME, UNUSABLE_PASSWORD)
    room_id = db.ensure_room(GENERAL_ROOM, users[0].id)
    for user in users:
        db.add_member(room_id, user.id)
    return agent


def _seed_password_hash(seed_password: str | None) -> str:
    if not seed_password:
        # No password matches the unusable hash, which has the same effect as a random
        # password that is never shown.
        logger.warning("seeded users have a random password; set AGENT_CHAT_SEED_PASSWORD")
        return UNUSABLE_PASSWORD
    # The seeded users share one known password, so one salted hash for all three hides nothing
    # and saves two scrypt runs on every start.
    return hash_password(seed_password)
