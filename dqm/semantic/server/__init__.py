"""``dqm review serve``: a local review server for the sample ``dqm sample`` drew.

A Starlette application (:mod:`.app`) served by uvicorn: an OpenSeadragon deep-zoom viewer over
Deep Zoom tiles made on the fly by OpenSlide (:mod:`.tiles`), the annotation's outlines and the
clinical record (:mod:`.sample`), verdicts in an append-only SQLite log (:mod:`.db`), one token
per reviewer and signed sessions (:mod:`.auth`). :mod:`.commands` holds what the three commands
``dqm review serve``, ``add-reviewer`` and ``export`` do. Nothing here loads at ``import dqm``.
"""
