"""Reading the dashboard's pages as a test does: every figure (`data-metric`, `data-value`, its text) with where
it is (the enclosing row's `data-officer-id`, `data-alert-id`, `data-scope`…, and the nearest `id`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

ROW_KEYS = ("data-officer-id", "data-alert-id", "data-scope", "data-name", "data-year")
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


@dataclass
class Figure:
    metric: str
    value: str
    text: str = ""
    row: dict[str, str] = field(default_factory=dict)  # the enclosing row's keys (ROW_KEYS)
    within: tuple[str, ...] = ()  # the ids of the enclosing elements, outermost first
    classes: tuple[str, ...] = ()
    title: str | None = None


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    figure: Figure | None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Open] = []
        self.figures: list[Figure] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        figure = None
        if "data-metric" in values and "data-value" in values:
            row: dict[str, str] = {}
            for element in self.stack:
                row.update({k: element.attrs[k] for k in ROW_KEYS if k in element.attrs})
            figure = Figure(
                values["data-metric"],
                values["data-value"],
                row=row,
                within=tuple(e.attrs["id"] for e in self.stack if "id" in e.attrs),
                classes=tuple(values.get("class", "").split()),
                title=values.get("title"),
            )
            self.figures.append(figure)
        if tag not in VOID:
            self.stack.append(_Open(tag, values, figure))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            element = self.stack.pop()
            if element.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        # Text read by screen readers only (class sr-only) is not what a person sees on the figure.
        if any("sr-only" in e.attrs.get("class", "").split() for e in self.stack):
            return
        for element in self.stack:
            if element.figure is not None:
                element.figure.text += data


def figures(html: str) -> list[Figure]:
    parser = _Parser()
    parser.feed(html)
    for figure in parser.figures:
        figure.text = " ".join(figure.text.split())
    return parser.figures
