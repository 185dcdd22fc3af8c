"""Benchmark: parsing a profile just under its bound (``MAX_PROFILE_BYTES``), libyaml against PyYAML.

A flow list of half a million items (``[1,1,…]``, the profile's 1 MiB) and a mapping of keys
of the same size, each parsed by :func:`dqm.profile.load_yaml` (libyaml's parser where PyYAML has it) and by the
same loader on PyYAML's own Python parser (``_UniqueKeyLoader``, what ``load_yaml`` used before),
timed in seconds of this process's CPU.

Usage: PYTHONPATH=. python benchmarks/bench_profile_yaml.py [--size 1048576]
"""

from __future__ import annotations

import argparse
import time

import yaml

from dqm.profile import LIBYAML, MAX_PROFILE_BYTES, _UniqueKeyLoader, load_yaml


def _cpu(parse, text: str) -> float:
    start = time.process_time()
    parse(text)
    return time.process_time() - start


def _keys(size: int) -> str:
    """A mapping of ``k<i>: <i>`` lines, as many as ``size`` bytes hold."""
    text = "".join(f"k{i}: {i}\n" for i in range(size // 8))
    return text[: text.rindex("\n", 0, size) + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=MAX_PROFILE_BYTES, help="bytes of each text")
    args = parser.parse_args()
    n = (args.size - 2) // 2
    texts = {
        "flow list": "[" + "1," * (n - 1) + "1]",
        "keys": _keys(args.size),
    }
    print(f"libyaml: {LIBYAML}, bound {MAX_PROFILE_BYTES:,} bytes")
    for name, text in texts.items():
        fast = _cpu(load_yaml, text)
        slow = _cpu(lambda t: yaml.load(t, Loader=_UniqueKeyLoader), text)
        print(f"{name} ({len(text):,} bytes): load_yaml {fast:.2f} s CPU, PyYAML's parser {slow:.2f} s CPU")


if __name__ == "__main__":
    main()
