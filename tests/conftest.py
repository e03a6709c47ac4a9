"""Configuration shared by the harness's own tests: ``pytester`` drives the plugin in tests/plugin."""

from __future__ import annotations

pytest_plugins = ["pytester"]
