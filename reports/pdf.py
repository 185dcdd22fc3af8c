"""``dqm report --pdf``: print the HTML certificate to PDF with a headless Chromium, when present.

Chromium prints with the report's print stylesheet (cover on its own page, explorers hidden),
without network access, with a throw-away profile folder. Nothing is downloaded: when no
Chromium is installed the caller gets a :class:`PdfError` that says how to get one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
DEFAULT_PATHS = ("/usr/bin/chromium",)
TIMEOUT_S = 180


class PdfError(RuntimeError):
    """No Chromium, or Chromium did not produce the PDF."""


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium executable: ``explicit``, else ``$DQM_CHROMIUM``, else the first on PATH.

    Raises
    ------
    PdfError
        None found; the message says what was searched and how to install one.
    """
    wanted = explicit or os.environ.get("DQM_CHROMIUM")
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise PdfError(f"no executable Chromium at {wanted}")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    for path in DEFAULT_PATHS:
        if os.access(path, os.X_OK):
            return path
    raise PdfError(
        "no headless Chromium found (looked for "
        + ", ".join(CANDIDATES)
        + " on PATH): install one (Debian/Ubuntu: apt-get install chromium; or `make browser`), "
        "pass --chromium PATH, or open the HTML report in a browser and print it to PDF"
    )


def print_pdf(html: Path, pdf: Path, chromium: str, timeout: float = TIMEOUT_S) -> None:
    """Print ``html`` to ``pdf`` with ``chromium --headless --print-to-pdf``.

    Raises
    ------
    PdfError
        Chromium failed, timed out, or wrote no PDF.
    dqm.output.WriteRefused
        The PDF printed could not take its name (:func:`dqm.output.write_file`: Chromium prints into
        a folder of its own, never onto ``pdf``, which may be a FIFO or a device, and a failed print
        leaves an earlier PDF as it was), or its folder cannot be made or written in.
    """
    from dqm.output import make_folder, write_file, writing

    # The folder Chromium prints into is made inside the PDF's own folder, as the PDF once was
    # printed there: a confined Chromium (Ubuntu's snap) cannot write into the host's /tmp.
    make_folder(pdf.parent)
    with writing(pdf):
        printing = tempfile.TemporaryDirectory(prefix="dqm-pdf-", dir=pdf.parent)
    with tempfile.TemporaryDirectory(prefix="dqm-chromium-") as profile, printing as printed_in:
        printed = Path(printed_in).resolve() / "print.pdf"
        args = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={printed}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        args.append(html.resolve().as_uri())
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"{chromium} did not finish printing within {timeout:.0f} s") from None
        except OSError as exc:
            raise PdfError(f"cannot run {chromium}: {exc}") from None
        data = printed.read_bytes() if printed.is_file() else b""
    if data[:5] != b"%PDF-":
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise PdfError(f"{chromium} wrote no PDF (exit {proc.returncode}){': ' + tail if tail else ''}")
    write_file(pdf, data, binary=True)
