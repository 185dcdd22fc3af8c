"""Structure checks (aspect ``structure``): each annotation file against its format's schema, the
references inside a foreign file, the manifest's columns and rows."""

from __future__ import annotations

import dataclasses

from dqm.findings import Aspect, Finding, Severity, clip
from dqm.i18n import N_, msg
from dqm.model import DiscoveryIssue, ReadIssue
from dqm.profile import Profile
from dqm.readers.common.base import CLINICAL, pointer
from validators.context import BatchView, ItemView
from validators.deid import shown_column
from validators.registry import CheckContext, NoParams, check, forward, read_issues


@check(
    "schema.annotation",
    aspect=Aspect.STRUCTURE,
    codes={
        "MISSING_KEY": "a required key is absent",
        "UNKNOWN_KEY": "a key the format does not define",
        "WRONG_TYPE": "a value of the wrong JSON type (string for number, object for list, ...)",
        "WRONG_VALUE": "a fixed value (format tag) is not the one the format defines",
        "UNSUPPORTED_GEOMETRY": "a geometry type other than Polygon or MultiPolygon",
        "BAD_VERTEX": "a vertex that is not a pair [x, y]",
        "DUPLICATE_KEY": "a JSON object repeats a key (readers keep the last value silently)",
    },
)
def annotation_schema(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The annotation file has the keys, nesting and types its format's schema requires."""
    ann = view.annotation
    if ann is None or not ann.clinical:
        return read_issues(view, ctx)
    issues = [_clinical_named(i, tuple(ann.clinical), view.profile) for i in ann.issues]
    return forward(issues, ctx, file=ann.path)


def _clinical_named(issue: ReadIssue, keys: tuple[str, ...], profile: Profile) -> ReadIssue:
    """A ``DUPLICATE_KEY`` issue in an annotation's clinical block (``/clinical/#3``: a reader
    names the block's keys by their position, :func:`dqm.readers.common.base.clinical_keys`) naming
    the key by its name where the profile declares it or dqm reads it
    (:func:`~validators.deid.shown_column`), as the clinical findings name it."""
    if issue.code != "DUPLICATE_KEY" or not (issue.pointer or "").startswith(CLINICAL + "/#"):
        return issue
    head, _, rest = (issue.pointer or "").removeprefix(CLINICAL + "/").partition("/")
    k = int(head[1:]) if head[1:].isdigit() else 0
    if not 0 < k <= len(keys) or shown_column(keys[k - 1], keys, profile) != keys[k - 1]:
        return issue
    name = keys[k - 1]
    at = CLINICAL + pointer(name) + (f"/{rest}" if rest else "")
    if rest or issue.counted:  # a key of an object below it, or the count of those past the cap
        return dataclasses.replace(issue, pointer=at)
    said = msg(
        N_("key {key!r} appears more than once in one object (the last value is read)"), key=clip(name, 80)
    )
    return dataclasses.replace(issue, pointer=at, message=said)


@check(
    "schema.manifest",
    aspect=Aspect.STRUCTURE,
    scope="batch",
    codes={
        "MANIFEST_MISSING_COLUMN": "a required manifest column is absent",
        "MANIFEST_EMPTY_SLIDE_ID": "a manifest row has no slide_id",
        "MANIFEST_BAD_ROW": "a manifest row has more or fewer cells than the header",
        "MANIFEST_DUPLICATE_COLUMN": "two manifest columns have the same name",
        "MANIFEST_BAD_VALUE": "a manifest cell dqm reads for the item (mpp, mask_downsample, mask_left, mask_top) "
        "holds no usable value (not used)",
        "MANIFEST_ENCODING": "the manifest is not UTF-8: read as UTF-16/32 by its byte-order mark, or as CP949 "
        "(Korean Excel) where UTF-8 fails",
        "MANIFEST_DELIMITER": "the manifest's columns are separated by semicolons or tabs, not commas (read so)",
    },
    code_severity={"MANIFEST_BAD_VALUE": Severity.WARNING, "MANIFEST_DELIMITER": Severity.WARNING},
)
def manifest_structure(batch: BatchView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """The manifest has the required columns, every row a slide_id, and usable values where dqm reads them.

    A column the profile declares as clinical is the clinical table's to report."""
    declared = batch.profile.clinical
    issues = [
        _unnamed(i, batch.manifest_header, batch.profile)
        for i in batch.discovery_issues
        if not (i.code == "MANIFEST_BAD_VALUE" and i.column in declared)
    ]
    return forward(issues, ctx)


def _unnamed(issue: DiscoveryIssue, header: tuple[str, ...], profile: Profile) -> DiscoveryIssue:
    """A repeated column's issue, its name left out where the profile does not declare it nor dqm
    read it (:func:`~validators.deid.shown_column`: a column's name may be a person's)."""
    if issue.code != "MANIFEST_DUPLICATE_COLUMN" or issue.column is None:
        return issue
    if (shown := shown_column(issue.column, header, profile)) == issue.column:
        return issue
    params = getattr(issue.message, "params", {})
    said = msg(
        "two columns have the same name (columns {first} and {second}); the first one is used",
        first=params.get("first"),
        second=params.get("second"),
    )
    return dataclasses.replace(issue, message=said, column=shown)


@check(
    "schema.foreign_annotation",
    aspect=Aspect.STRUCTURE,
    codes={
        "IMAGE_NOT_IN_FILE": "the multi-image annotation file (COCO) has no entry for this slide",
        "IMAGE_AMBIGUOUS_IN_FILE": "two or more images of the multi-image file (COCO) go by this slide's name",
        "COCO_UNKNOWN_IMAGE": "a COCO annotation refers to an image_id that 'images' does not list",
        "COCO_DUPLICATE_IMAGE": "a COCO 'images' entry repeats the id or file name of an earlier one",
        "COCO_UNKNOWN_CATEGORY": "a COCO annotation refers to a category_id that 'categories' does not list",
        "COCO_BAD_RLE": "a COCO RLE segmentation cannot be decoded (bad counts or size)",
    },
)
def foreign_structure(view: ItemView, params: NoParams, ctx: CheckContext) -> list[Finding]:
    """A foreign annotation file's references hold: images, categories, RLE masks."""
    return read_issues(view, ctx)
