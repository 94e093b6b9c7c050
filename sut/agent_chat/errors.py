"""Exceptions shared by the configuration, storage and chat layers.

The API layer maps the chat errors to HTTP status codes, so these modules stay free of FastAPI.
"""


class ConfigError(Exception):
    """Invalid configuration. The message is one line that names the setting and the fix."""


class ChatError(Exception):
    """Base class for request errors that the API reports to the client."""


class InvalidCredentials(ChatError):
    """Unknown username, wrong password, or a user that cannot log in."""


class RoomNotFound(ChatError):
    """No room has the requested id."""


class NotRoomMember(ChatError):
    """The user must join the room first."""


class NotRoomCreator(ChatError):
    """Only the user who created a room may delete it."""


class RoomNameTaken(ChatError):
    """Another room already has the requested name."""


class ClientMsgIdConflict(ChatError):
    """The author already used this client_msg_id for a message in another room."""


class InvalidCursor(ChatError):
    """The pagination cursor was not produced by this service."""
