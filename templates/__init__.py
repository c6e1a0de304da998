"""Jinja2 templates that render each target's files (package data)."""
