"""Lots: the batch split by a field (an institution, a vendor), each judged on its own.

``models`` holds the ``lots`` section of results.json (light: :mod:`dqm.results` imports it);
``compute`` splits a run into lots and computes each lot's figures, ISO 2859-1 plan and gate.
"""
