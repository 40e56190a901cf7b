"""Dinghuo's plugin system: the contract (:mod:`plugins.hookspecs`), the manager
(:mod:`plugins.manager`), per-tenant enablement and settings
(:mod:`plugins.services`), and the test kit for vendors (:mod:`plugins.testing`).

This package is imported while settings load (to find plugins' Django apps),
so nothing here may import Django models at import time.

Write a hook implementation with::

    from plugins import hookimpl

    @hookimpl
    def validate_order_lines(context, lines): ...
"""

import pluggy

from .hookspecs import PROJECT_NAME

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["hookimpl", "PROJECT_NAME"]
