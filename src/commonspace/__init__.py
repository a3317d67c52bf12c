"""Commonspace: share cyber-threat intelligence across organisations and borders, under exact control."""

__version__ = "0.1.0"
