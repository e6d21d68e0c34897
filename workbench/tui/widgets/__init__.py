"""Widgets of the launcher and the dashboard; each carries its own CSS."""
