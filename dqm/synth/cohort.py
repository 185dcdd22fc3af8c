"""Plausible clinical records for a synthetic cohort: 4 institutions, 7 classes.

Class shares follow the rough make-up of a dermatopathology archive; age, sex and site depend
on the class the way they do clinically (melanocytic nevi in the young, BCC on the head and
neck, acral melanoma common in Korean patients). Each institution has its own scanner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

CLASS_SHARES = {
    "NS": 0.10,
    "EC": 0.15,
    "SK": 0.15,
    "BD_SCC": 0.15,
    "BCC": 0.20,
    "MN": 0.15,
    "MM": 0.10,
}
INSTITUTIONS = {
    "Seoul-A": (0.35, "Aperio GT450"),
    "Busan-B": (0.28, "Hamamatsu NanoZoomer S360"),
    "Daegu-C": (0.22, "3DHistech P1000"),
    "Gwangju-D": (0.15, "Leica Aperio AT2"),
}
AGE = {
    "NS": (50, 15),
    "EC": (45, 14),
    "SK": (62, 11),
    "BD_SCC": (70, 10),
    "BCC": (68, 11),
    "MN": (34, 14),
    "MM": (63, 13),
}
SITES = ("head_neck", "trunk", "upper_extremity", "lower_extremity", "acral", "genital", "other")
SITE_WEIGHTS = {
    "NS": (0.25, 0.35, 0.15, 0.15, 0.05, 0.02, 0.03),
    "EC": (0.35, 0.40, 0.10, 0.08, 0.02, 0.03, 0.02),
    "SK": (0.40, 0.40, 0.08, 0.08, 0.01, 0.01, 0.02),
    "BD_SCC": (0.45, 0.15, 0.18, 0.15, 0.04, 0.01, 0.02),
    "BCC": (0.80, 0.10, 0.04, 0.03, 0.01, 0.01, 0.01),
    "MN": (0.35, 0.35, 0.10, 0.10, 0.07, 0.01, 0.02),
    "MM": (0.15, 0.15, 0.08, 0.12, 0.45, 0.03, 0.02),
}


@dataclass(frozen=True, slots=True)
class Record:
    slide_id: str
    institution: str
    diagnosis: str
    age: int
    sex: str
    site: str
    patient_id: str
    scanner: str
    stain: str
    acquired_on: str

    def clinical(self) -> dict[str, object]:
        """The clinical block / manifest fields (everything but the slide id)."""
        return {
            "institution": self.institution,
            "diagnosis": self.diagnosis,
            "age": self.age,
            "sex": self.sex,
            "site": self.site,
            "patient_id": self.patient_id,
            "scanner": self.scanner,
            "stain": self.stain,
            "acquired_on": self.acquired_on,
        }


def _draw(rng: np.random.Generator, shares: dict[str, float]) -> str:
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _balanced_classes(rng: np.random.Generator, n: int) -> list[str]:
    """Classes by the shares, with every class at least once when ``n`` allows (largest remainder)."""
    keys = list(CLASS_SHARES)
    if n < len(keys):
        return [_draw(rng, CLASS_SHARES) for _ in range(n)]
    exact = np.array([CLASS_SHARES[k] for k in keys]) * n
    counts = np.maximum(np.floor(exact).astype(int), 1)
    while counts.sum() < n:
        counts[int(np.argmax(exact - counts))] += 1
    while counts.sum() > n:
        counts[int(np.argmax(counts))] -= 1
    out = [k for k, c in zip(keys, counts, strict=True) for _ in range(c)]
    rng.shuffle(out)
    return out


def cohort(rng: np.random.Generator, n: int, prefix: str = "S") -> list[Record]:
    """``n`` records; about one patient in ten contributes two slides."""
    records: list[Record] = []
    inst_shares = {k: v[0] for k, v in INSTITUTIONS.items()}
    start = dt.date(2019, 1, 1)
    patient = 0
    for i, diagnosis in enumerate(_balanced_classes(rng, n)):
        if records and rng.random() < 0.1 and records[-1].diagnosis == diagnosis:
            prev = records[-1]
            institution, patient_id, age, sex = (
                prev.institution,
                prev.patient_id,
                prev.age,
                prev.sex,
            )
        else:
            patient += 1
            institution = _draw(rng, inst_shares)
            patient_id = f"P{patient:06d}"
            mean, sd = AGE[diagnosis]
            age = int(np.clip(round(rng.normal(mean, sd)), 1, 99))
            sex = "F" if rng.random() < 0.52 else "M"
        site = SITES[int(rng.choice(len(SITES), p=np.array(SITE_WEIGHTS[diagnosis])))]
        acquired = start + dt.timedelta(days=int(rng.integers(0, 5 * 365)))
        records.append(
            Record(
                slide_id=f"{prefix}{i + 1:05d}",
                institution=institution,
                diagnosis=diagnosis,
                age=age,
                sex=sex,
                site=site,
                patient_id=patient_id,
                scanner=INSTITUTIONS[institution][1],
                stain="H&E",
                acquired_on=acquired.isoformat(),
            )
        )
    return records
