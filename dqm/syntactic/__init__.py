"""Syntactic accuracy: every file and value of the batch against its schema and domain.

``models`` holds the result (light: importing :mod:`dqm.results` loads it); ``accuracy`` computes
it from a run.
"""
