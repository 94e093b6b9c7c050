"""Devices: profiles, the Appium server of a run, and the sessions opened on it."""
