"""Quality-assurance harness: runs suites, turns evidence into metrics, gates promotion."""

__version__ = "0.1.0"
