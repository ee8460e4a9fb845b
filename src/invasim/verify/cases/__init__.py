"""Validation case modules, one per mechanism (see :mod:`invasim.verify`)."""
