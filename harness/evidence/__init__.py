"""Parsers for the native evidence files that suites write."""
