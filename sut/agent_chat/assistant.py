"""The rule-based assistant that replies to messages mentioning "@agent"."""

AGENT_USERNAME = "agent"
AGENT_DISPLAY_NAME = "Agent"
MENTION = "@agent"
HELP_TEXT = "I can answer: ping, echo <text>, help. I follow fixed rules and do not know the time."
NOT_UNDERSTOOD = "Sorry, I did not understand. Try @agent help."


def reply_to(body: str) -> str | None:
    """Return the agent's reply to a message body, or None when the body does not mention "@agent".

    The mention matches in any letter case, and the first mention counts. The command is the first
    word after it, also in any case. "ping" returns "pong", "help" returns HELP_TEXT, and
    "echo <text>" returns the text as written. Anything else, such as "@agentping" or an "echo"
    without text, returns NOT_UNDERSTOOD.
    """
    start = body.lower().find(MENTION)
    if start < 0:
        return None
    rest = body[start + len(MENTION) :]
    if rest and not rest[0].isspace():
        return NOT_UNDERSTOOD
    words = rest.split(maxsplit=1)
    command = words[0].lower() if words else ""
    if command == "ping":
        return "pong"
    if command == "help":
        return HELP_TEXT
    if command == "echo" and len(words) == 2:
        return words[1].strip()
    return NOT_UNDERSTOOD


def reply_client_msg_id(message_id: int) -> str:
    """Return the client_msg_id of the reply to a message, so a reply cannot be stored twice."""
    return f"agent-reply-{message_id}"
