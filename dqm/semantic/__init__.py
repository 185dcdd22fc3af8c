"""Semantic accuracy: a statistically designed expert review, from sample to certified estimate.

The modules are small and single purpose:

``iso2859``     ISO 2859-1 Table 1 and Table 2-A as data; :func:`~dqm.semantic.iso2859.plan_iso2859`.
``lq_plans``    limiting-quality plans for an isolated lot, computed as ISO 2859-2 Procedure A defines them.
``intervals``   Wilson and Clopper–Pearson intervals; the precision-based sample size.
``allocation``  proportional allocation with a minimum per stratum (largest remainder).
``sampling``    the seeded draw: equal-probability core, stratified supplement, inclusion weights.
``planfile``    ``review_plan.json`` / ``review_plan.csv``: writing and reading them.
``verdicts``    reading reviewers' verdict files (CSV / JSON) into records and findings.
``estimate``    the estimates: raw, core and stratified accuracy, variance, the lot decision.
``agreement``   Cohen's and Fleiss' kappa with intervals, disagreements, adjudication.
``overlap``     Dice and IoU between delivered annotations and corrected outlines.
``ingest``      verdict files + plan → :class:`~dqm.semantic.models.SemanticResult`.
``sheet``       the data of the review sheet (thumbnails, outlines) for ``review.html``.
``models``      the frozen result models (imported by :mod:`dqm.results`; pydantic only).
``resultfile``  reading ``semantic.json`` back to attach it to an audit (``dqm audit --review``).

The commands (``dqm sample``, ``dqm review plan|ingest``) are in :mod:`dqm.cli.semantic`.

Nothing here is imported by ``import dqm``; heavy libraries load inside the functions that use them.
"""
