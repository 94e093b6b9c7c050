"""Collect every .feature file in this folder as pytest-bdd scenarios.

Every scenario uses the `world` fixture, declared here so that pytest sees the channel it depends
on when it parametrizes scenarios by channel.
"""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("world")

scenarios(".")
