"""The assistant's reply rules."""

import pytest
from agent_chat.assistant import HELP_TEXT, NOT_UNDERSTOOD, reply_client_msg_id, reply_to


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("@agent ping", "pong"),
        ("@AGENT PING", "pong"),
        ("hey @Agent ping please", "pong"),
        ("@agent echo Hello, World!", "Hello, World!"),
        ("@agent ECHO  keeps Case ", "keeps Case"),
        ("@agent echo line one\nline two", "line one\nline two"),
        ("@agent help", HELP_TEXT),
        ("@agent roll", NOT_UNDERSTOOD),
        ("@agent", NOT_UNDERSTOOD),
        ("@agent   ", NOT_UNDERSTOOD),
        ("@agent echo", NOT_UNDERSTOOD),
        ("@agentping", NOT_UNDERSTOOD),
        ("@agent ping @agent echo x", "pong"),
    ],
)
def test_reply_rules(body: str, expected: str) -> None:
    assert reply_to(body) == expected


@pytest.mark.parametrize("body", ["hello", "agent ping", "@ agent ping", "mail me at x@agen.t"])
def test_no_mention_no_reply(body: str) -> None:
    assert reply_to(body) is None


def test_reply_client_msg_id() -> None:
    assert reply_client_msg_id(17) == "agent-reply-17"
