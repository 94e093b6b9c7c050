"""Agent Chat: a small chat service with a rule-based assistant, used as a system under test."""

__version__ = "0.1.0"
