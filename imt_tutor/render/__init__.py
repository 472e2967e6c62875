"""Renderers: functions from the feedback model (and the other core data) to strings.

Nothing here runs an engine, reads a file or prints.
"""
