"""Prints each straight-edge line the coverslip rule as on BASE accepts, with its longest unbroken
stretch (imported by coverslip_study.py: wraps _straight_edges)."""

import numpy as np

import dqm.pixels.artefacts as A

orig = A._straight_edges


def traced(valleys, tissue):
    out = orig(valleys, tissue)
    ys, xs = np.nonzero(valleys)
    side = max(valleys.shape)
    min_len = A.COVERSLIP_MIN_LENGTH * side
    if ys.size < A.COVERSLIP_MIN_FILL * min_len:
        return out
    theta = np.linspace(0, np.pi, A.COVERSLIP_ANGLES, endpoint=False, dtype=np.float32)
    cos, sin = np.cos(theta), np.sin(theta)
    diag = int(np.ceil(np.hypot(*valleys.shape)))
    rho = np.rint(np.outer(cos, xs) + np.outer(sin, ys)).astype(np.int32) + diag
    votes = np.bincount((np.arange(theta.size)[:, None] * (2 * diag + 1) + rho).ravel())
    top = np.argpartition(votes, -4)[-4:]
    for best in top[np.argsort(votes[top])[::-1]]:
        if votes[best] < A.COVERSLIP_MIN_FILL * min_len:
            break
        a, r = divmod(int(best), 2 * diag + 1)
        near = np.flatnonzero(np.abs(rho[a] - r) <= 1)
        near = near[np.argsort(-sin[a] * xs[near] + cos[a] * ys[near])]
        t = -sin[a] * xs[near] + cos[a] * ys[near]
        breaks = np.flatnonzero(np.diff(t) > A.COVERSLIP_MAX_GAP * side)
        starts, ends = np.r_[0, breaks + 1], np.r_[breaks, t.size - 1]
        k = int(np.argmax(t[ends] - t[starts]))
        t0, t1 = t[starts[k]], t[ends[k]]
        run = near[starts[k] : ends[k] + 1]
        if t1 - t0 < min_len or run.size < A.COVERSLIP_MIN_FILL * (t1 - t0):
            continue
        off = ~tissue[ys[run], xs[run]]
        if off.mean() < A.COVERSLIP_MIN_GLASS:
            continue
        tr = t[starts[k] : ends[k] + 1]
        cov = np.unique(np.floor(tr)).size / (t1 - t0 + 1)
        # longest continuous stretch (gaps <= 2 px)
        b2 = np.flatnonzero(np.diff(tr) > 2)
        s2, e2 = np.r_[0, b2 + 1], np.r_[b2, tr.size - 1]
        longest = (tr[e2] - tr[s2]).max() / side
        print(
            f"  LINE len {(t1 - t0) / side:.2f} fill {run.size / (t1 - t0):.2f} cov {cov:.2f} glass {off.mean():.2f} longest {longest:.3f} pieces {len(s2)}",
            flush=True,
        )
    return out


A._straight_edges = traced
