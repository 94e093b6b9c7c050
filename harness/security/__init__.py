"""Probes of the security suite that talk to a running deployment: DAST and TLS."""
