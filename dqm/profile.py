"""Dataset profiles: the taxonomy, clinical fields and thresholds a batch is checked against.

A profile is YAML validated once, on load, into frozen pydantic models; checks receive typed
parameters, never raw strings. ``load_profile(None)`` gives the built-in dermatopathology profile.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dqm.diversity.settings import DiversitySettings
from dqm.findings import Severity
from dqm.i18n import LANGUAGES, N_, msg
from dqm.identifiers import DeidSettings
from dqm.output import read_named, visible
from dqm.quality_layout import QualityTableLayout
from dqm.user_regex import linear

BUILTIN_PROFILES = ("dermatopathology",)

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


_M = TypeVar("_M", bound=BaseModel)


class ProfileError(ValueError):
    """The profile file is missing, not YAML, or does not describe a valid profile."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _languages_known(names: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(names) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"names in {unknown}: choose from {', '.join(LANGUAGES)}")
    return names


class ClassDef(_Frozen):
    """One lesion class of the taxonomy."""

    id: str
    name: str
    colour: str = "#888888"
    aliases: tuple[str, ...] = ()
    requires_lesion: bool = True
    """A slide with this diagnosis must carry at least one lesion of this class."""
    names: dict[str, str] = Field(default_factory=dict)
    """The class's name in other languages (``ko: 기저세포암``); ``name`` is the English one. A
    class written by one of these names is this class where the name is unambiguous (no other
    class, ``class_map`` key or blank shares it); otherwise the name is only shown."""

    @property
    def written(self) -> tuple[str, ...]:
        """The names a file writes the class by, each one class's only: its id, name and aliases.
        Its names in other languages match too where unambiguous (:attr:`Profile._names`)."""
        return (self.id, self.name, *self.aliases)

    @field_validator("names")
    @classmethod
    def _names_languages(cls, v: dict[str, str]) -> dict[str, str]:
        return _languages_known(v)

    @field_validator("id")
    @classmethod
    def _id_is_identifier(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"class id {v!r} must be letters, digits and underscores")
        return v

    @field_validator("colour")
    @classmethod
    def _colour_is_hex(cls, v: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", v):
            raise ValueError(f"colour {v!r} must be #rrggbb")
        return v


FieldType = Literal["integer", "number", "string", "category", "date", "class", "boolean"]


class FieldDef(_Frozen):
    """One clinical field and its domain."""

    type: FieldType
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    unique: bool = False
    names: dict[str, str] = Field(default_factory=dict)
    """The field's name for people, per language (``en: age``, ``ko: 나이``); without one, its key."""

    @field_validator("names")
    @classmethod
    def _names_languages(cls, v: dict[str, str]) -> dict[str, str]:
        return _languages_known(v)

    @model_validator(mode="after")
    def _domain_fits_type(self) -> FieldDef:
        if self.type == "category" and not self.values:
            raise ValueError("a category field needs `values`")
        if (self.min is not None or self.max is not None) and self.type not in (
            "integer",
            "number",
        ):
            raise ValueError("`min`/`max` apply to integer and number fields only")
        if self.pattern is not None:
            linear(self.pattern)  # run on RE2 (dqm.clinical_table): time linear in each value
        return self


class Thresholds(_Frozen):
    """Gated targets; a ratio at or above its target passes."""

    file_accuracy: float = Field(0.99, ge=0, le=1)
    structure_accuracy: float = Field(0.995, ge=0, le=1)
    format_accuracy: float = Field(0.995, ge=0, le=1)


class Limits(_Frozen):
    """Hard limits on what one annotation file may cost; each exceeded limit is a
    ``LIMIT_EXCEEDED`` finding naming it, and what is over it is not checked. ``slide_seconds``
    bounds the work of one slide's probe, with CPU and wall-clock backstops (``SLIDE_TIME_BUDGET``)."""

    annotation_bytes: int = Field(512 * 1024 * 1024, gt=0)
    """The largest annotation file read (bytes); a larger one is not read at all."""
    annotation_memory: int = Field(4 * 1024**3, gt=0)
    """The memory one annotation file's read may take (bytes), estimated before it is parsed from
    the values its JSON or XML text holds (:func:`dqm.readers.memory_needed`); a file whose
    estimate is over it is not read. A parsed value takes 130-200 bytes, so a 50 MB file of tiny
    objects needs 1-1.7 GB, a 512 MB one (limits.annotation_bytes) 10-18 GB in each worker."""
    lesions_per_file: int = Field(100_000, gt=0)
    """Lesions of one slide checked; the ones after are dropped."""
    vertices_per_lesion: int = Field(1_000_000, gt=0)
    """Vertices of one lesion's outline; a larger outline gets no geometry."""
    mask_pixels: int = Field(4_000_000_000, gt=0)
    """The largest label mask decoded, in pixels (width x height, read from the image's header); a
    larger one is not decoded at all. Over 64,000,000 pixels only a tiled TIFF is read (tile by
    tile: the raster of one tile is held at a time); another image is refused."""
    row_crossings: int = Field(20_000, gt=0)
    """The most edges of one slide's outlines a horizontal line may cross for the validity stage
    to learn from the slide: every training tile's label mask is filled row by row, each row
    costing its crossings (one outline of 999,000 vertices zigzagging across a slide: 23 s a
    256-pixel tile). A slide over it is left out of the validity run, and the result says why
    (``ROW_CROSSINGS``)."""
    raster_crossings: int = Field(200_000_000, gt=0)
    """The most work the label mask ``dqm convert --to mask`` writes may take to fill
    (:func:`dqm.raster.raster_crossings`, counted from the vertices before any pixel is filled):
    the edge-row crossings (each edge of each outline crosses every row it spans) plus the cells
    of each polygon's box (its rows times its columns and one: each is counted, summed and painted
    whether the polygon covers it or not). 200 million is about 4 s of one core when crossings
    make it (one outline of 580,000 vertices zigzagging across 348 rows: 3.8 s of CPU) and 1 s
    when cells do (three thin slivers across an 8000² mask). A mask over it is not written, and
    what is said names the limit, the work and the lesion that makes the most."""
    rle_pixels: int = Field(2**32, gt=0)
    """The largest decoded area of one COCO RLE segmentation (its foreground pixels, summed from
    the runs before anything is drawn); a larger one is not outlined."""
    slide_seconds: float = Field(30.0, gt=0, allow_inf_nan=False)
    """One slide's probe's budget in all: header, tile sample, tissue mask, near-duplicate hash,
    stain descriptors and artefacts (``--slide-budget`` overrides it for one audit). It buys
    :func:`dqm.budget.work_units` of work (:data:`dqm.budget.WORK_RATE`, 20 million units, a second:
    pixels read or processed, weighted by step), counted before each step from the slide's header:
    a step whose work would go past it is skipped, the same on every machine. The seconds
    themselves are a backstop for decoders that crawl and reads that wait: no step starts after
    this many seconds of the probe's CPU time, or ten times as many
    (:data:`dqm.budget.WALL_FACTOR`) on the wall clock; what those stop depends on the machine.
    ``SLIDE_TIME_BUDGET`` names what was skipped and what stopped it."""
    item_seconds: float | None = Field(None, gt=0, allow_inf_nan=False)
    """The wall-clock seconds one item's work (reading its annotation, probing its slide,
    hashing its files) may go without progress in its worker process, counted from its last
    step that made some (a probe step, a chunk of a file hashed, a check: so a slow item that
    keeps going is never ended); past them the process is killed, the item gets an
    ``ITEM_TIMED_OUT`` error and the run goes on: the backstop for a decoder that never returns
    or a read blocked on a dead filesystem, which no budget checked between steps can stop. None: :data:`dqm.budget.ITEM_FACTOR` times the probe's wall-clock backstop (600 s
    with the default ``slide_seconds``; :func:`dqm.budget.item_limit_s`). A run with one worker
    (``--workers 1``) checks items in its own process, which it cannot kill, with no limit, unless
    this is set: then in one worker process, under this limit."""


class CheckSetting(_Frozen):
    """Profile overrides for one registered check."""

    enabled: bool = True
    severity: Severity | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Profile(_Frozen):
    """What a dataset is supposed to look like."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    name: str
    version: str = "1"
    description: str = ""
    classes: tuple[ClassDef, ...]
    clinical: dict[str, FieldDef]
    institutions: tuple[str, ...] | None = None
    """When given, the institutions allowed in the batch."""
    class_map: dict[str, str] = Field(default_factory=dict)
    """Foreign class names (any case) mapped to class ids, for every institution."""
    institution_class_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per institution: foreign class names mapped to class ids (wins over ``class_map``)."""
    mask_values: dict[int, str] = Field(default_factory=dict)
    """Label masks: pixel value -> class id (0 is background; ``{255: gland}`` for a 0/255 mask)."""
    institution_mask_values: dict[str, dict[int, str]] = Field(default_factory=dict)
    """Per institution: pixel value -> class id (wins over ``mask_values``)."""
    mask_downsample: int | None = Field(None, ge=1)
    """Label masks of whole slides are at this downsample of their slide (a manifest
    ``mask_downsample`` column wins); unstated, an exact integer size ratio is taken."""
    image_mpp: float | None = Field(None, gt=0, allow_inf_nan=False)
    """Level-0 resolution (µm per pixel) of slides whose header states none (plain PNG, JPEG or
    BMP images); a manifest ``mpp`` column wins, the slide header and the annotation first."""
    thresholds: Thresholds = Thresholds()
    checks: dict[str, CheckSetting] = Field(default_factory=dict)
    severities: dict[str, Severity] = Field(default_factory=dict)
    """Severity overrides per reason code (win over a check's ``severity``)."""
    deid: DeidSettings = DeidSettings()
    """What identifies a person: patterns and keys the ``deid.*`` checks search (dqm.identifiers)."""
    diversity: DiversitySettings = DiversitySettings()
    """Statistical diversity: targets, significance level, rules and drift thresholds."""
    quality_table: QualityTableLayout = QualityTableLayout()
    """The quality table's layout (columns, wording in Korean and English, technical rows)."""
    limits: Limits = Limits()
    """Hard limits on an annotation file's size and content (:func:`dqm.readers.within_limits`)."""
    sha256: str = ""
    """Hash of the profile's source text, set by :func:`load_profile`."""

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        ids = [c.id for c in self.classes]
        if not ids:
            raise ValueError("a profile needs at least one class")
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate class ids: {sorted(dup)}")
        seen: dict[str, str] = {}
        for c in self.classes:
            for name in c.written:
                key = name.strip().casefold()
                if seen.get(key, c.id) != c.id:
                    raise ValueError(f"name {name!r} is used by classes {seen[key]} and {c.id}")
                seen[key] = c.id
        mappings: tuple[dict[Any, str], ...] = (
            self.class_map,
            *self.institution_class_map.values(),
            self.mask_values,
            *self.institution_mask_values.values(),
        )
        for mapping in mappings:
            bad = sorted({v for v in mapping.values() if v not in ids})
            if bad:
                raise ValueError(f"class map targets not in the taxonomy: {bad}")
        unknown = sorted(set(self.diversity.targets.get("class", {})) - set(ids))
        if unknown:
            raise ValueError(f"diversity.targets.class names classes not in the taxonomy: {unknown}")
        return self

    @property
    def class_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.classes)

    def class_def(self, class_id: str) -> ClassDef:
        return next(c for c in self.classes if c.id == class_id)

    @cached_property
    def _names(self) -> dict[str, str]:
        # a name in another language (an annotation of a Korean lab writes 기저세포암 for BCC)
        # matches its class unless it is blank, two classes share it (both ``ko: 기타``) or it is
        # another class's own name: those only set what the outputs show. ``class_map`` (the
        # user's explicit word) and the classes' own names come after, so they win.
        owners: dict[str, set[str]] = {}
        for c in self.classes:
            for name in (*c.written, *c.names.values()):
                owners.setdefault(name.strip().casefold(), set()).add(c.id)
        names = {
            key: c.id
            for c in self.classes
            for key in (n.strip().casefold() for n in c.names.values())
            if key and owners[key] == {c.id}
        }
        names.update({k.strip().casefold(): v for k, v in self.class_map.items()})
        for c in self.classes:
            for name in c.written:
                names[name.strip().casefold()] = c.id
        return names

    @cached_property
    def _institution_names(self) -> dict[str, dict[str, str]]:
        return {
            inst.strip().casefold(): {k.strip().casefold(): v for k, v in m.items()}
            for inst, m in self.institution_class_map.items()
        }

    def display_names(self, lang: str) -> dict[str, str]:
        """Class ids and clinical field keys → their names in ``lang``, where the profile's
        ``names`` give one (the outputs show an id with its name beside it)."""
        out = {f: d.names[lang] for f, d in self.clinical.items() if lang in d.names}
        out.update({c.id: c.names[lang] for c in self.classes if lang in c.names})
        return out

    def resolve_class(self, name: object, institution: object = None) -> str | None:
        """The class id for a name as written (id, name, alias, a name in another language or
        mapped; any case), else None."""
        if not isinstance(name, str):
            return None
        key = name.strip().casefold()
        if isinstance(institution, str):
            per = self._institution_names.get(institution.strip().casefold())
            if per and key in per:
                return per[key]
        return self._names.get(key)

    def mask_class(self, value: object, institution: object = None) -> str | None:
        """The class id of a label mask's pixel value (as written, in decimal), else None."""
        try:
            number = int(str(value))
        except ValueError:
            return None
        if isinstance(institution, str):
            for inst, per in self.institution_mask_values.items():
                if inst.strip().casefold() == institution.strip().casefold() and number in per:
                    return per[number]
        return self.mask_values.get(number)


LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
"""Whether PyYAML has libyaml's C parser: YAML is then parsed 5 to 10 times faster."""
MAX_PROFILE_BYTES = 1 << 20 if LIBYAML else 1 << 18
"""The largest profile file read (a 15 MB YAML of a million keys kept the command parsing for
minutes before it printed a line a key; the built-in profile is 8 KB). 1 MiB is parsed in about 5 s
of CPU by libyaml (a flow list of half a million items); PyYAML's own parser takes 35 s, so without
libyaml the bound is 256 KiB."""
MAX_YAML_PROBLEMS = 20
"""The problems of an invalid profile or waiver file listed, then how many more (a list of a
million wrong items was a message of a million lines)."""


def _read_profile_text(source: str | Path | None) -> tuple[str, str]:
    if source is None or str(source) in BUILTIN_PROFILES:
        name = "dermatopathology" if source is None else str(source)
        text = resources.files("dqm.profiles").joinpath(f"{name}.yaml").read_text("utf-8")
        return text, f"built-in:{name}"
    path = Path(source)
    try:
        data = read_named(path, MAX_PROFILE_BYTES)
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(
                msg(
                    "profile {path} is larger than {limit} bytes: a profile is a short YAML file "
                    "(the built-in one is 8 KB); is it the right file?",
                    path=path,
                    limit=MAX_PROFILE_BYTES,
                )
            )
        return data.decode("utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(msg("cannot read profile {path}: {reason}", path=path, reason=exc)) from exc


def load_profile(source: str | Path | None = None) -> Profile:
    """Load and validate a profile: a built-in name, a YAML path, or None for the default.

    Raises
    ------
    ProfileError
        With every problem found, each with its location in the file.
    """
    text, origin = _read_profile_text(source)
    return model_from_yaml(text, origin, Profile, ProfileError, N_("profile"))


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping (YAML would keep the last in
    silence: a reader of the file and dqm would see two different settings)."""


_Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = _UniqueKeyLoader
if LIBYAML:

    class _CUniqueKeyLoader(yaml.CSafeLoader):
        """:class:`_UniqueKeyLoader` on libyaml's parser (C): the same safe constructor (no Python
        tags) and the same refusal of a repeated key, but a 1 MiB list of half a million items is
        parsed in seconds, not the half minute of PyYAML's Python parser. libyaml bounds nesting
        itself (1,000 levels: deeper is a ``yaml.YAMLError``)."""

    _Loader = _CUniqueKeyLoader


def _unique_mapping(
    loader: yaml.constructor.SafeConstructor, node: yaml.MappingNode, deep: bool = False
) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # '<<' merges: the mapping's own keys override, as YAML defines
        key = loader.construct_object(key_node, deep=deep)
        try:
            repeated = key in seen
            seen.add(key)
        except TypeError:  # an unhashable key: construct_mapping names it
            continue
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {str(key)[:80]!r} appears twice in one mapping", key_node.start_mark
            )
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text``, a key repeated in one mapping raising ``yaml.YAMLError``, and
    so does a text nested past Python's stack (PyYAML recurses a level a bracket: 5 KB of ``[``
    in a waiver file stopped ``dqm gate`` with an internal error) or libyaml's depth."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python objects
    except RecursionError:
        raise yaml.YAMLError("the YAML is nested too deeply") from None


def model_from_yaml(
    text: str,
    origin: str,
    model: type[_M],
    error: type[Exception],
    what: str,
    context: dict[str, Any] | None = None,
) -> _M:
    """``model`` validated from YAML ``text`` (pydantic validation ``context``), with ``sha256``
    of the text set; ``error`` lists the problems (the first :data:`MAX_YAML_PROBLEMS`, then how many more) and where each is (``origin``: the file or
    built-in name)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise error(msg("{origin}: not valid YAML: {reason}", origin=origin, reason=exc)) from exc
    if not isinstance(data, dict):
        raise error(
            msg(
                "{origin}: a {_what} is a YAML mapping, got {type}",
                origin=origin,
                _what=what,
                type=type(data).__name__,
            )
        )
    data["sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        listed = problem_lines(
            [
                f"  {'.'.join(shown_key(p) for p in e['loc']) or '(top)'}: {visible(e['msg'], newlines=False)}"
                for e in exc.errors()
            ]
        )
        head = (
            N_("{origin}: invalid {_what}\n{problems}\n  {_more}")
            if "_more" in listed
            else N_("{origin}: invalid {_what}\n{problems}")
        )
        raise error(msg(head, origin=origin, _what=what, **listed)) from exc


def problem_lines(lines: list[str], cap: int = MAX_YAML_PROBLEMS) -> dict[str, object]:
    """The parameters listing the first ``cap`` of ``lines`` (a file's problems, one a line):
    ``problems``, and where there are more, ``_more`` and ``n``, the tail a parameter of its own
    (``… and 30 more``, translated with the message: a text inside another would stay English)."""
    problems = "\n".join(lines[:cap])
    more = len(lines) - cap
    return (
        {"problems": problems}
        if more <= 0
        else {"problems": problems, "_more": N_("… and {n} more"), "n": more}
    )


def shown_key(key: object) -> str:
    """A key of a profile or waiver file as a problem line shows it: its first 80 characters (a
    key of any length is one short line; a key is the file's own name for a setting, never an
    identifier, so its start is shown whatever it holds) with every control escaped, line breaks
    too (:func:`dqm.output.visible`): a key holding a newline must not forge a line of output."""
    text = str(key)
    return visible(
        text if len(text) <= 80 else f"{text[:80]}… [cut: {len(text):,} characters]", newlines=False
    )
