"""What every ``dqm`` command shares: the typer app, consoles, usage errors, the guards on batch and
output folders, progress bars and the common options. Commands import what they need when they
run, so ``dqm --help`` and ``dqm validate`` stay fast (no torch, monai or great_expectations at
start-up).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.markup import escape

from dqm.i18n import LANGUAGES, N_, Message, gettext, msg, pmsg
from dqm.output import never_into

USAGE_ERRORS: tuple[type[Exception], ...] = (
    click.ClickException,
    *((typer.TyperException,) if hasattr(typer, "TyperException") else ()),
)
"""What a usage error of the command line raises (a missing argument, an unknown option or
command): click's exception, and typer's own copy of click's (typer 0.2x vendors click, so its
errors are no longer ``click.ClickException``)."""
ABORTS: tuple[type[BaseException], ...] = (KeyboardInterrupt, click.exceptions.Abort, typer.Abort)
EXITS: tuple[type[BaseException], ...] = (click.exceptions.Exit, typer.Exit)


def show_usage_error(exc: Exception) -> int:
    """Print a usage error as click prints it (the usage line, then ``Error: ...``); its exit code."""
    show = getattr(exc, "show", None)
    if callable(show):
        show()
    else:
        typer.echo(f"Error: {exc}", err=True)
    return int(getattr(exc, "exit_code", 2))


app = typer.Typer(
    name="dqm",
    help="Quality assurance and certification for histopathology lesion-segmentation datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class MaskingConsole(Console):
    """A console that passes every string it prints through the run's masker (:func:`start_masking`),
    so what a command prints from a batch names no person, like the files it writes, and then
    through :func:`dqm.output.terminal_safe`: a name from the batch cannot send the terminal escape
    sequences or display reversed."""

    mask: Any = None

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from dqm.output import terminal_safe

        mask = self.mask or (lambda text: text)
        objects = tuple(terminal_safe(mask(o)) if isinstance(o, str) else o for o in objects)
        super().print(*objects, **kwargs)


# Output quotes file content (class names, paths, "[x, y]"): plain text unless a print says markup=True;
# never highlighted (rich's highlighter takes time in the square of a long unbroken run).
console = MaskingConsole(stderr=True, markup=False, highlight=False)
out = MaskingConsole(markup=False, highlight=False)

EXIT_USAGE = 2
EXIT_INTERNAL = 4


class _Run:
    id: str | None = None


RUN = _Run()
"""The command's run: its id (:func:`start_run`) is carried by every file it writes."""


class _Language:
    value = "en"


LANGUAGE = _Language()
"""The language of the running command's printed lines: its ``--lang`` (:data:`LangOpt` sets it
when the command line is parsed, before the command runs, so that the shared helpers' lines and
usage errors are in it too); English for a command without the option."""


def tr(message: str) -> str:
    """A line of the command line in the running command's language: a :class:`~dqm.i18n.Message`
    (built with :func:`~dqm.i18n.msg`) rendered in :data:`LANGUAGE`; any other text (an exception's,
    a rendered line) as it is."""
    return message.rendered(LANGUAGE.value) if isinstance(message, Message) else message


def severity_word(state: str) -> str:
    """ISO 2859-1's inspection severity (or the supplier's state) ``state`` in the command's
    language, as the word of its context (``normal`` is also an interval's method)."""
    return tr(pmsg("inspection severity", state))


def start_run() -> str:
    """A new run id for this command (:func:`dqm.output.new_run_id`), kept in :data:`RUN` so that
    every output of the run, and the log of an internal error, carries the same one."""
    from dqm.output import new_run_id

    RUN.id = new_run_id()
    return RUN.id


def reason(exc: Exception) -> str:
    """Why ``exc`` was raised, in the command's language when it was raised with a
    :func:`~dqm.i18n.msg` (else its text as it is)."""
    return tr(exc.args[0]) if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)


def usage_error(message: str) -> typer.Exit:
    """Print ``message`` (in the command's language: :func:`tr`) as an error; exit 2 to raise."""
    label = tr(msg("error:"))
    console.print(f"[bold red]{label}[/] {escape(tr(message))}", markup=True)  # paths and file text escaped
    return typer.Exit(EXIT_USAGE)


def load_profile_or_exit(profile: str | None) -> Any:
    from dqm.profile import ProfileError, load_profile
    from validators.engine import configure

    try:
        prof = load_profile(profile)
        configure(prof)
    except ProfileError as exc:
        raise usage_error(reason(exc)) from None
    _warn_patterns_off(prof.deid)
    return prof


def _warn_patterns_off(deid: Any) -> None:
    """A warning for each built-in de-identification pattern the profile turns off, whichever way
    (``enabled: false``, an empty ``regex``, an empty ``places``: each leaves it out of
    :func:`dqm.identifiers.find`): the profile's choice, but a profile written before a pattern was
    added (``possible_name``) keeps it by the merge, and one that turns it off should say so aloud; and
    one for each built-in pattern the profile's ``regex`` or ``validate_as`` leaves finding none of its
    examples (:func:`dqm.identifiers.built_in_patterns_finding_nothing`: ``possible_name: {validate_as:
    rrn}``). Warned, not refused: a profile may narrow a built-in pattern to its hospital's own format."""
    from dqm.identifiers import DEFAULT_PATTERNS, built_in_patterns_finding_nothing

    if not deid.enabled:
        return
    for name in DEFAULT_PATTERNS:
        pattern = deid.patterns[name]
        if not (pattern.enabled and pattern.regex and pattern.places):
            warning(
                msg(
                    N_(
                        "the profile turns off the built-in de-identification pattern {name} ({level}): "
                        "what it finds is not looked for"
                    ),
                    name=name,
                    level=DEFAULT_PATTERNS[name].level,
                )
            )
    for name in built_in_patterns_finding_nothing(deid):
        warning(
            msg(
                N_(
                    "the profile's regex or validate_as of the built-in de-identification pattern {name} "
                    "({level}) finds none of the identifiers it was written for: they are not looked for"
                ),
                name=name,
                level=DEFAULT_PATTERNS[name].level,
            )
        )


def start_masking(deid: Any, key_file: Path | None) -> Any:
    """The run's masker (None when the profile's ``deid`` is off), also set on both consoles: one
    :class:`dqm.identifiers.Masker` for every file a command writes and every line it prints. The
    key: :func:`read_mask_key`. What the command cuts respects the same patterns
    (:func:`dqm.identifiers.use_profile_patterns`)."""
    from dqm.identifiers import Masker, use_profile_patterns

    use_profile_patterns(deid)
    if not deid.enabled:
        out.mask = console.mask = None
        return None
    masker = Masker(deid, read_mask_key(key_file))
    out.mask = console.mask = masker
    return masker


def read_mask_key(key_file: Path | None) -> bytes:
    """The masking key: the ``--mask-key`` file, else :func:`dqm.identifiers.load_mask_key`."""
    from dqm.identifiers import MASK_KEY_ENV, MASK_KEY_LIMIT, default_key_path, load_mask_key
    from dqm.output import TooLarge, read_bounded, written

    if key_file is not None and not key_file.is_file():
        raise usage_error(msg("--mask-key {path}: no such file", path=key_file))
    # a key file this run creates is recorded as written (a later refused write names it)
    made = key_file is None and not os.environ.get(MASK_KEY_ENV) and not default_key_path().exists()
    try:
        key = read_bounded(key_file, MASK_KEY_LIMIT) if key_file is not None else load_mask_key()
    except TooLarge as exc:
        raise usage_error(exc.message(N_("masking key"))) from None
    except (OSError, ValueError) as exc:
        raise usage_error(msg("the masking key cannot be read: {error}", error=exc)) from None
    if made and default_key_path().is_file():
        written(default_key_path())
    if len(key) < 16:
        raise usage_error(msg("--mask-key {path}: the key holds fewer than 16 bytes", path=key_file))
    return key


def write_identifier_map(path: Path | None, texts: Any, masker: Any) -> None:
    """``--identifier-map``: the masked slide ids and paths with the real ones, owner-only (0600)."""
    if path is None:
        return
    import json

    from dqm.identifiers import identifier_map
    from dqm.output import write_file

    found = identifier_map((t for t in texts if t), masker) if masker is not None else {}
    write_file(path, json.dumps(found, ensure_ascii=False, indent=1) + "\n", private=True)
    out.print(
        tr(msg("identifier map: {n} masked names, owner-only, in {path}", n=len(found), path=path)),
        markup=False,
    )


def load_result_or_exit(path: Path, raw: bytes | None = None, undigested: str | None = None) -> Any:
    """A results.json (``raw``: its bytes, already read), or exit 2 with a short message (never a
    traceback). Every command reading one decides from it: one whose content no longer hashes to
    the digest it states (edited since dqm wrote it), or without one that it should carry
    (:func:`dqm.results.load_result`), is refused; one with no digest (before results schema 1.10)
    is read with a warning, or, with ``undigested`` (the option that allows it), refused unless
    that option was given (``dqm gate``: the decision of a CI job). Read alone, a results.json is
    always whole (an output set moves it into place by one rename), whatever else its folder holds:
    a set left half moved there is no reason to refuse it (a command reading it with other files of
    its set uses :func:`dqm.output.whole_set`; one reading its own ``--out`` calls
    :func:`settle_own_or_exit` first)."""
    import gc

    from dqm.results import ResultsError, collector_paused, load_result

    def refuse(_warning: str) -> None:
        raise ResultsError(
            msg(
                "{path} carries no content digest (written before results schema 1.10): nothing checks "
                "that it was not edited; refused, give {option} to use it anyway",
                path=path,
                option=undigested,
            )
        )

    try:
        with collector_paused():
            result = load_result(path, raw=raw, unsealed=warning if undigested is None else refuse)
            # The result stays until the command ends: out of the collector's sight (its objects are
            # freed by reference counts all the same) before any collection walks it, so that none of
            # what the command builds next walks a 34,000-slide result's items and findings again
            gc.freeze()
    except ResultsError as exc:
        raise usage_error(reason(exc)) from None
    return result


def dimensions_or_exit(text: str | None, option: str) -> list[str] | None:
    from dqm.gate import parse_dimensions

    try:
        return parse_dimensions(text, option)
    except ValueError as exc:
        raise usage_error(str(exc)) from None


def batch_folder(path: Path) -> Path:
    if not path.exists():
        raise usage_error(msg("no such folder: {path}", path=path))
    if not path.is_dir():
        raise usage_error(msg("not a folder: {path} (give the batch folder)", path=path))
    root = path.resolve()
    never_into(root)  # nor through a link inside an output folder (dqm.output checks each write)
    return root


def outside_batch(path: Path, root: Path, option: str) -> None:
    """Refuse (usage error) an output path at or inside the batch folder ``root``; every later
    write into the batch, through a link inside that path too, is refused where it is written
    (:func:`dqm.output.never_into`)."""
    with contextlib.suppress(OSError):
        never_into(root)
    where = path.resolve()
    if where == root or root in where.parents:
        raise usage_error(
            msg("{option} must be outside the batch folder: dqm never writes into a batch", option=option)
        )


def output_folder(path: Path, root: Path | None, option: str) -> Path:
    """An output folder given by ``option``: outside the batch folder ``root``, not an existing
    file, and creatable — checked (and created) before any work, else a usage error (exit 2)."""
    if root is not None:
        outside_batch(path, root, option)
    if path.exists() and not path.is_dir():
        raise usage_error(msg("{option} {path} is an existing file, not a folder", option=option, path=path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise usage_error(
            msg(
                "{option} {path} cannot be created: {error}",
                option=option,
                path=path,
                error=exc.strerror or exc,
            )
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise usage_error(msg("{option} {path} is not writable", option=option, path=path))
    return path


def removed_when_unused(context: typer.Context, path: Path, root: Path | None = None) -> Path:
    """The output folder ``path`` made for the command (with the parents it lacks), after refusing
    one at or inside the batch folder ``root`` (:func:`outside_batch`); when the command ends
    (``context`` closes, whatever its exit) the folders made here are removed if nothing was
    written into them (a run refused with exit 2, or that converted nothing, after making its
    --out left the empty folder behind). Every command that makes its --out calls it first
    (audit, fixlist, validity, convert) and writes to the path it returns: ``path``, its ``..``
    resolved as the system resolves them when it has any (``new/../kept`` is the user's
    ``kept``; making ``new`` for it and removing ``kept`` as made by the run removed a folder the
    user had). A folder it cannot make is left to the command's own making (which says why)."""
    if root is not None:
        outside_batch(path, root, "--out")
    where = Path(os.path.realpath(path)) if os.pardir in path.parts else path
    made: list[tuple[Path, int, int]] = []
    for folder in reversed([p for p in (where, *where.parents) if not os.path.lexists(p)]):
        try:
            os.mkdir(folder)
            made.append((folder, *_identity(folder)))
        except FileExistsError:
            continue  # made meanwhile by another: not this run's
        except OSError:
            break
    if made:
        context.call_on_close(lambda: _remove_if_unused(made[::-1]))
    return where


def _identity(folder: Path) -> tuple[int, int]:
    """The device and inode of the folder ``folder`` (not following a link)."""
    info = os.lstat(folder)
    return info.st_dev, info.st_ino


def _still_made(folder: Path, dev: int, ino: int) -> bool:
    """Whether ``folder`` is still the folder this run made (a folder, its identity unchanged)."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and (info.st_dev, info.st_ino) == (dev, ino)


def _remove_if_unused(made: list[tuple[Path, int, int]]) -> None:
    """Remove the folders made for this run (``made``: the output folder, then the parents made
    for it, each with its device and inode as made) when nothing was written into them and each
    is still the folder made (not one put at its path since). dqm's run and commit locks are no
    output; they go too unless another run holds the folder."""
    import fcntl

    from dqm.output import COMMIT_LOCK, LOCK_FILE

    folder = made[0][0]
    if not _still_made(*made[0]):
        return
    try:
        left = set(os.listdir(folder))
    except OSError:
        return
    if not left <= {LOCK_FILE, COMMIT_LOCK}:
        return  # something was written
    if LOCK_FILE in left:
        try:
            fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another run holds it: it stays
        except OSError:
            return
        finally:
            os.close(fd)
    for name in left:
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
    for each in made:  # the folder, then the parents made for it, each only when it is and empty
        if not _still_made(*each):
            return
        try:
            os.rmdir(each[0])
        except OSError:
            return


def settled_or_exit(folder: Path) -> None:
    """An output set a killed run left half moved into place in ``folder`` finished before it is
    read (:func:`dqm.output.settle`), or a usage error saying why it cannot be; the staging
    folders killed runs left there removed, and said so on stderr."""
    from dqm.output import UnfinishedSet, settle

    try:
        removed = settle(folder)
    except UnfinishedSet as exc:
        raise usage_error(reason(exc)) from None
    if removed:
        line = msg(
            "removed {n} staging folder(s) that stopped runs left in {folder}: {names}",
            n=len(removed),
            folder=folder,
            names=first_names(removed),
        )
        console.print(tr(line))


def settle_own_or_exit(read: Path, out_dir: Path, option: str = "--out") -> None:
    """Before a command reads ``read`` (a results.json) from its own output folder ``out_dir``: a
    set a killed run left half moved there finished first, under the run lock (:func:`locked`), so
    that what is read is the set the command then writes beside. Nothing when ``read`` is elsewhere
    (a folder dqm only reads is never settled: its records may be forged)."""
    if out_dir.is_dir() and read.parent.resolve() == out_dir.resolve():
        with locked(out_dir, option):
            pass


@contextmanager
def locked(folder: Path, option: str) -> Iterator[None]:
    """Hold the output folder for this run; a second run into it is a usage error (exit 2). An
    output set a killed run left half moved into place there is finished first (before any work),
    or the run stops with a usage error saying why it cannot be."""
    from dqm.output import FolderInUse, run_lock

    try:
        with run_lock(folder):
            settled_or_exit(folder)
            yield
    except FolderInUse:
        raise usage_error(
            msg(
                "{option} {path} is in use by another dqm run; wait for it or choose another folder",
                option=option,
                path=folder,
            )
        ) from None


def progress_bar(label: str) -> Any:
    """A progress bar on stderr (shown on a terminal only) named ``label`` (a msgid: :func:`N_`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(f"[bold]{escape(gettext(label, LANGUAGE.value))}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def run_with_progress(
    root: Path,
    profile: Any,
    options: Any,
    cache: Path | None = None,
    earlier: Any = None,
    mask: Any = None,
    lang: str = "en",
    order: Any = None,
) -> Any:
    """Check the batch with a progress bar; with ``cache`` (a folder outside the batch), items
    unchanged since a run that stored them are taken from there (``dqm.cache``), stored masked
    with the run's ``mask`` as the outputs are; with ``earlier`` (an earlier release's slides) the
    batch checks look for slides delivered again. A Dask cluster that cannot be used is a usage
    error. With ``options.certify``, the items whose cached record their files' full hashes
    refuted are named in a warning (in ``lang``). With ``order`` (``--expect``), a list whose first
    line is a column name dqm does not know is a usage error once the batch's items are discovered,
    before any is checked (:func:`order_header_or_exit`)."""
    from dqm.executors import ExecutorError
    from dqm.runner import run_batch

    with progress_bar(N_("checking")) as bar, _cache(cache, root, profile, options, mask) as records:
        task = bar.add_task("items", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            run = run_batch(
                root,
                profile,
                options,
                progress=tick,
                cache=records,
                earlier=earlier,
                discovered=None if order is None else partial(order_header_or_exit, order),
            )
        except ExecutorError as exc:
            raise usage_error(str(exc)) from None
    said_crowded(run)
    if records is not None and records.unconfirmed:
        from dqm.i18n import translator

        _ = translator(lang)
        n = len(records.unconfirmed)
        shown = ", ".join(records.unconfirmed[:10]) + (f" (+{n - 10})" if n > 10 else "")
        warning(
            _(
                "--certify: {count} items checked again: a file changed although its size, times, "
                "inode and first and last MiB did not ({items})",
                count=n,
                items=shown,
            )
        )
    if records is not None and records.hits:
        console.print(
            tr(
                msg(
                    "{hits} of {total} items unchanged since an earlier run: taken from the cache",
                    hits=records.hits,
                    total=len(run.outcomes),
                )
            ),
            highlight=False,
        )
    return run


RESULTS_HELP = (
    "An audit's results.json of this batch: its checks are reused instead of run again (refused when "
    "the batch or the profile changed since)."
)


def audited_or_exit(path: Path, root: Path, profile: Any, discovery: Any = None, mask: Any = None) -> Any:
    """The audit in ``path`` when it is of this batch as it is now, with this profile; else exit 2
    (``dqm.reuse.refusal``: one check for every command that takes ``--results``; ``mask``: the
    run's masker, as results.json names slides)."""
    from dqm.reuse import refusal

    result = load_result_or_exit(path)
    refused = refusal(result, path, root, profile, discovery, mask)
    if refused is not None:
        raise usage_error(refused)
    return result


def reused_run_or_exit(
    results: Path,
    root: Path,
    profile: Any,
    options: Any,
    cache: Path | None = None,
    earlier: Any = None,
    mask: Any = None,
) -> Any:
    """The run of the audit in ``results`` rebuilt from its item records (the result cache
    ``cache``, default: the audit's ``.dqm-cache`` next to it), after :func:`audited_or_exit`. The
    items the cache does not hold are checked again, and a warning names them. ``earlier`` and
    ``mask`` (the run's masker: the cache is keyed and masked with it): as :func:`run_with_progress`."""
    from dqm.executors import ExecutorError
    from dqm.reuse import reused_run

    result = audited_or_exit(results, root, profile, mask=mask)
    folder = cache or results.parent / CACHE_FOLDER
    outside_batch(folder, root, "--cache")
    with progress_bar(N_("reading the audit's records")) as bar:
        task = bar.add_task("items", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            reused = reused_run(result, root, profile, folder, options, tick, warning, earlier, mask)
        except ExecutorError as exc:
            raise usage_error(str(exc)) from None
    said_crowded(reused.run)
    n, total = len(reused.rechecked), len(reused.run.outcomes)
    if n:
        warning(
            msg(
                "{n} of {total} items checked again: their parsed annotations and slide facts are needed "
                "and {why} ({names})",
                n=n,
                total=total,
                why=reused.why,
                names=first_names(reused.rechecked),
            )
        )
    console.print(
        tr(msg("{n} of {total} items taken from the audit {path}", n=total - n, total=total, path=results)),
        highlight=False,
    )
    return reused.run


def said_crowded(run: Any) -> None:
    """A warning that counts the run's slides naming more files besides them than are hashed and
    fingerprinted (:attr:`dqm.runner.Run.crowded`): said, not left silent, with a cache or without."""
    if run.crowded:
        from dqm.runner import crowded_message

        warning(crowded_message(len(run.crowded)))


@contextmanager
def _cache(folder: Path | None, root: Path, profile: Any, options: Any, mask: Any) -> Iterator[Any]:
    if folder is None:
        yield None
        return
    from dqm.cache import RecordCache, context_key

    outside_batch(folder, root, "--cache")
    with RecordCache(folder, root, context_key(profile.sha256, options), warn=warning, mask=mask) as records:
        yield records


def warning(message: str) -> None:
    """A warning line on stderr in the command's language (:func:`tr`; escaped: it may quote file
    content)."""
    label = tr(msg("warning:"))
    console.print(f"[yellow]{label}[/] {escape(tr(message))}", markup=True)


def first_names(names: list[str], shown: int = 10) -> str:
    """The first ``shown`` of ``names``, then how many more (in the command's language)."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (tr(msg(" and {n} more", n=rest)) if rest > 0 else "")


def executor_or_exit(executor: str | None, scheduler: str | None) -> dict[str, Any]:
    """``RunOptions``' ``executor`` and ``scheduler`` from ``--executor`` and ``--scheduler`` (or
    ``$DQM_SCHEDULER``): a named scheduler means dask unless ``--executor local`` says otherwise.
    A scheduler on another machine without TLS is refused here, before any work (exit 2)."""
    chosen = executor or ("dask" if scheduler else "local")
    if chosen not in ("local", "dask"):
        raise usage_error(msg("--executor must be local or dask, not {executor}", executor=executor))
    if chosen == "local":
        return {"executor": "local", "scheduler": None}
    if scheduler:
        from distributed.security import Security

        from dqm.executors import ExecutorError, check_secure

        try:
            check_secure(scheduler, Security())
        except ExecutorError as exc:
            raise usage_error(str(exc)) from None
    return {"executor": "dask", "scheduler": scheduler}


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}


def print_finding_lines(rows: list[tuple[str, str, str, str]], limit: int, rest: str) -> None:
    """One line per ``(where, severity, code, message)`` row, the first ``limit`` of them, then
    how many more and ``rest`` (where to see them)."""
    from dqm.output import terminal_safe

    for where, severity, code, message in rows[:limit]:
        # paths and messages quote file content ("[x, y]", class names, verdict files): never markup,
        # and one finding is one line (a file name holding a line break must not forge another)
        where, message = terminal_safe(where, newlines=False), terminal_safe(message, newlines=False)
        out.print(
            f"{escape(where)}: [{_SEVERITY_STYLE[severity]}]{severity}[/] {code} {escape(message)}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    if len(rows) > limit:
        out.print(tr(msg("… {n} more {rest}", n=len(rows) - limit, rest=tr(rest))))


Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-j", help="Worker processes (default: all cores; 1 runs in this process).", min=1
    ),
]
CACHE_FOLDER = ".dqm-cache"
"""The audit's result cache, inside its output folder (where ``dqm sample --results`` looks too)."""
CertifyOpt = Annotated[
    bool,
    typer.Option(
        "--certify",
        help="Reuse a cached item only when each of its files still has the full SHA-256 its record holds "
        "(hashed inside each item's work); implies --full-hashes.",
    ),
]
ExpectOpt = Annotated[
    Path | None,
    typer.Option(
        "--expect",
        help="The buyer's order list (CSV/TSV with a slide_id or file column and an optional sha256 "
        "column, or one id a line): an item ordered and not delivered counts against syntactic "
        "accuracy, one delivered and not ordered is a warning (docs/batch-format.md).",
    ),
]


def order_or_exit(path: Path | None, root: Path | None) -> Any:
    """The order list at ``path`` (:func:`dqm.order.read_order`; None without one); a list that
    cannot be read or has a malformed line is a usage error naming the line, and so is one inside
    the batch folder ``root`` (the buyer's list is kept outside the supplier's delivery)."""
    if path is None:
        return None
    from dqm.order import OrderError, read_order

    where = path.resolve()
    if root is not None and (where == root or root in where.parents):
        raise usage_error(
            msg(
                "--expect must be outside the batch folder: the buyer's order list is not part of "
                "the delivery it checks"
            )
        )

    try:
        return read_order(path)
    except OrderError as exc:
        raise usage_error(reason(exc)) from None


def order_header_or_exit(order: Any, discovery: Any) -> None:
    """A usage error for an order list whose first line is a column name dqm does not know
    (:func:`dqm.order.header_refused`), decided from the batch's ``discovery``: before the run."""
    from dqm.order import header_refused

    items = discovery.items
    refused = header_refused(order, [i.slide_id for i in items], [i.image_path for i in items])
    if refused is not None:
        raise usage_error(reason(refused))


def with_order_or_exit(run: Any, order: Any) -> Any:
    """:func:`dqm.audit.with_order`; an order list whose first line is a column name dqm does not
    know, found once the batch's items are known, is a usage error."""
    from dqm.audit import with_order
    from dqm.order import OrderError

    try:
        return with_order(run, order)
    except OrderError as exc:
        raise usage_error(reason(exc)) from None


def print_order_line(result: Any, lang: str) -> None:
    """How many of the ordered items were delivered (``--expect``), under the verdict; nothing
    without an order list."""
    from dqm.figures import order_line

    line = order_line(result.order, lang, result.syntactic)
    if line is not None:
        out.print(line, highlight=False)


CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="Folder of the per-item result cache: items unchanged since a run that stored them are not "
        "checked again.",
    ),
]


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise usage_error(f"--lang {value!r}: choose en or ko")
    LANGUAGE.value = value
    return value


LangOpt = Annotated[
    str,
    typer.Option(
        "--lang",
        callback=_language,
        help="Language of what a person reads (report, summary, JUnit messages, printed lines and errors): "
        "en or ko. Finding codes, JSON, CSV and this help stay English.",
    ),
]
MaskKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--mask-key",
        help="File with the masking key (default: $DQM_MASK_KEY, else ~/.config/dqm/mask.key, created 0600).",
    ),
]
FindingsCapOpt = Annotated[
    int | None,
    typer.Option(
        "--report-findings-cap",
        min=0,
        help="Above this many findings, report.html shows them aggregated (per code, per institution, the "
        "worst slides) and every finding goes to findings.csv.gz beside it (default 100,000).",
    ),
]
IdentifierMapOpt = Annotated[
    Path | None,
    typer.Option(
        "--identifier-map",
        help="Write the masked slide ids and paths with the real ones here (owner-only; never in an output).",
    ),
]
ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor",
        metavar="local|dask",
        help="Where items are checked: local (this machine's processes) or dask (a Dask cluster; "
        "a LocalCluster when no scheduler is named). Default: dask when a scheduler is named, else local.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="DQM_SCHEDULER",
        metavar="ADDRESS",
        help="A running Dask scheduler (tls://HOST:PORT; plain tcp:// only on this machine). "
        "See docs/scale.md.",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Profile YAML file or built-in name (default: dermatopathology)."),
]


EXIT_INTERRUPTED = 130
INTERRUPT_EXPLAINED: list[str] = []
"""A command that handled Ctrl-C itself and said what to do next (a validity run's checkpoint)
puts its line here, so :func:`dqm.cli.main` does not add a second one."""
ValidityProfileOpt = Annotated[
    str,
    typer.Option(
        "--profile", "-p", help="Validity profile: smoke (CPU, minutes), standard (GPU) or a YAML file."
    ),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(help="auto | cpu | cuda (default: the validity profile's)."),
]


def _pct(v: float | None, target: float | None = None) -> str:
    from dqm.figures import fmt_value

    return "n/a" if v is None else fmt_value(v, True, target)


def syntactic_figures(s: Any) -> dict[str, str | int]:
    """The syntactic figures of a line that states them (``validate``, ``audit``), as its parameters."""
    return {
        # beside the file accuracy's target (``dqm audit``'s line): never shown reaching it from below
        "file_accuracy": _pct(
            s.file_accuracy, next((g.target for g in s.gates if g.name == "file_accuracy"), None)
        ),
        "files_valid": s.files_valid,
        "files_total": s.files_total,
        "value_accuracy": _pct(s.value_accuracy),
        "values_valid": s.values_valid,
        "values_total": s.values_total,
        "errors": s.errors,
        "warnings": s.warnings,
    }
