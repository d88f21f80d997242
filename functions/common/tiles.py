"""The dashboard's tiles (issue 19): the catalogue, and what a built tile is (`Tile`, version 1).

The contract between the tile builder (which reads only the aggregator's counters and writes each
tile, with a TTL, to the `tiles` state store under `tile:{id}`) and the dashboard (which serves the
page and each tile as it finds it, never building one). A tile's `data` is shaped by its template,
one per visualisation style: `kpi` (a number with its trend), `series` (lines over days), `bars`
(a breakdown) and `table`. Numbers come with the text the page shows (`display`), formatted here in
Python, so the page shows exactly what `bindery cases` and `bindery emails` would. A `kpi`, `bars` or
`table` may carry a `note` saying what it counts (the page shows it under the title's line); `bars` and
`table` gained theirs later, optional, so a tile stored before reads as it did.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bindings.messages import Message

TILE_ID = r"^[a-z][a-z0-9-]{0,59}$"
KEY_PREFIX: Final = "tile:"  # a built tile's key in the `tiles` store: `tile:{id}`


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Figure(_Frozen):
    """A number and the text the page shows for it (`12.5 %`, `€1,234.00`, `42`); None: no data."""

    value: float | None
    display: str = Field(max_length=80)


class Kpi(_Frozen):
    """A KPI: its figure now, and its figures on the days before (oldest first) for the trend."""

    template: Literal["kpi"] = "kpi"
    figure: Figure
    note: str = Field(default="", max_length=200)  # what the figure counts, e.g. "30 days, EUR"
    trend: tuple[Figure, ...] = ()
    trend_labels: tuple[str, ...] = ()  # one per trend figure (ISO dates)


class Line(_Frozen):
    """One line of a series tile: its label and one figure per x label."""

    label: str = Field(max_length=80)
    figures: tuple[Figure, ...]


class Series(_Frozen):
    """Lines over the same x labels (ISO dates or months, oldest first)."""

    template: Literal["series"] = "series"
    x: tuple[str, ...]
    lines: tuple[Line, ...]


class Bar(_Frozen):
    """One bar of a breakdown."""

    label: str = Field(max_length=120)
    figure: Figure


class Bars(_Frozen):
    """A breakdown, largest first."""

    template: Literal["bars"] = "bars"
    bars: tuple[Bar, ...]
    note: str = Field(default="", max_length=200)  # what the bars count, e.g. "30 days, every currency"


class Table(_Frozen):
    """Rows of text under column headings."""

    template: Literal["table"] = "table"
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = Field(default="", max_length=200)  # what the rows count


TileData = Annotated[Kpi | Series | Bars | Table, Field(discriminator="template")]
Template = Literal["kpi", "series", "bars", "table"]


class Tile(Message):
    """A built tile (version 1): what the page draws with the template its `data` names."""

    version: Literal[1] = 1
    id: str = Field(pattern=TILE_ID)
    title: str = Field(max_length=120)
    generated_at: AwareDatetime
    refresh_seconds: int = Field(gt=0, description="how often the builder rebuilds it: older is stale")
    data: TileData

    @property
    def key(self) -> str:
        """Its key in the `tiles` store."""
        return f"{KEY_PREFIX}{self.id}"


class Spec(_Frozen):
    """A tile of the catalogue: id, title, template, how often it is rebuilt and how long it is kept."""

    id: str = Field(pattern=TILE_ID)
    title: str = Field(max_length=120)
    template: Template
    refresh_seconds: int = Field(gt=0)
    ttl_seconds: int = Field(gt=0)  # kept this long after its last build, then gone ("no data yet")


def _spec(tile_id: str, title: str, template: Template, refresh: int = 120, ttl: int = 3600) -> Spec:
    return Spec(id=tile_id, title=title, template=template, refresh_seconds=refresh, ttl_seconds=ttl)


# Every tile the dashboard shows, in page order. The tile builder rebuilds a tile once it is older than
# its refresh (seconds) and saves it with its TTL: an hour after the builder last wrote it, a tile is gone
# (the page shows "no data yet"). What each one computes: docs/architecture.md, *Dashboard tiles*.
CATALOGUE: Final[tuple[Spec, ...]] = (
    _spec("recovery-rate", "Recovery rate", "kpi"),
    _spec("recovered-revenue", "Recovered revenue by month", "series", refresh=600),
    _spec("at-risk", "At risk: open cases' amount", "table"),
    _spec("lost", "Lost: abandoned and canceled, last 30 days", "table"),
    _spec("cases-by-step", "Cases by state and step", "table"),
    _spec("declines-by-class", "Declines by class, last 30 days", "bars"),
    _spec("decline-reasons", "Top decline reasons, last 30 days", "table"),
    _spec("time-to-recover", "Time to recover (median)", "kpi", refresh=600),
    _spec("recoveries-by-email", "Recoveries by the email before them, last 30 days", "bars", refresh=600),
    _spec("emails-by-status", "Emails by status, last 30 days", "bars"),
    _spec("bounce-rate", "Bounce rate", "kpi"),
    _spec("documents-rendered", "Documents rendered per day", "series"),
    _spec("dead-letters", "Dead letters by source, last 24 hours", "bars", refresh=60),
)
