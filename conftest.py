"""Root conftest: makes `pytest --image=IMAGE` work from a checkout, installed or not.

With the package installed, the plugin arrives through its `pytest11` entry point; from a bare
checkout it is loaded here instead (loading it twice would be an error).
"""

from __future__ import annotations

from importlib.metadata import entry_points

_installed = any(ep.name == "sagemaker_conformance" for ep in entry_points(group="pytest11"))
if not _installed:
    # Only then: even an empty pytest_plugins breaks `pytest --image` run from another folder, because
    # this conftest is then not the rootdir's and pytest refuses pytest_plugins in it.
    pytest_plugins = ["conformance.plugin"]
