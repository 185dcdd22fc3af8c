"""The cost of a long key judged as an identifier's kind (``patient_id_type``:
``dqm.identifiers.names_a_kind``): the worst case of the kind pattern, a key of one character
repeated (backslashes, letters, separators) or of separators and kind words, up to the longest
header a manifest's CSV reader takes (131,072 characters; a JSON key is bounded by its file only).

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/bench_kind_keys.py [CHARS]

``old search`` is the lazy pattern of session 25 (``(.+?)`` then a separator and a kind word)
searched rather than matched whole: quadratic, as a sweep found it (15.5 s at 20,000 backslashes);
``old whole`` the same pattern matched whole, as dqm called it (linear: no caller searched it);
``names_a_kind`` and ``key_says`` are what dqm runs now (the kind word searched at the key's end).

Measured (session 26, deid10, ``nice``, a shared 2-core machine): old search 0.9–1.9 s at 5,000
characters for every key without kind words; old whole, names_a_kind and key_says at most 0.03 s at
20,000 characters and 0.18 s at 131,072 (key_says: the key's readings, folded).
"""

from __future__ import annotations

import re
import sys
import time

from dqm import identifiers
from dqm.identifiers import DeidSettings, key_says, names_a_kind

_OLD = re.compile(
    r"(.+?)(?:[-_. ]|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]))(?i:format|type|kind|source|system|scheme|length)"
)


def _keys(chars: int) -> dict[str, str]:
    return {
        "backslashes": "\\" * chars,
        "backslashes then _type": "\\" * chars + "_type",
        "letters": "a" * chars,
        "aA": "aA" * (chars // 2),
        "_type repeated": "_type" * (chars // 5),
        "id_ repeated then Type": "id_" * (chars // 3) + "Type",
        "IDType repeated": "IDType" * (chars // 6),
    }


def main() -> None:
    chars = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    settings = DeidSettings()
    search = settings.compiled.identifier_keys.search
    old_chars = min(chars, 5_000)  # the old search is quadratic: 20,000 took 15.5 s
    for name, key in _keys(chars).items():
        start = time.process_time()
        _OLD.search(key[:old_chars])
        old = time.process_time() - start
        start = time.process_time()
        _OLD.fullmatch(key)
        whole = time.process_time() - start
        start = time.process_time()
        names_a_kind(key, search)
        kind = time.process_time() - start
        identifiers._SAID = identifiers._Kept()  # not the remembered answer
        start = time.process_time()
        key_says(key, settings)
        said = time.process_time() - start
        print(
            f"{name:24} {len(key):>8,} chars: old search ({old_chars:,}) {old:6.3f} s, old whole {whole:6.3f} s, "
            f"names_a_kind {kind:6.3f} s, key_says {said:6.3f} s"
        )


if __name__ == "__main__":
    main()
