"""The class board as the pages draw it: the student's name field in the Lab's sidebar, the
teacher's key at the board's door, and the live board (table, chart, ranking).

The board's fragment reads this server's memory only (``app.classroom``): a refresh every
``BOARD_S`` seconds costs the server a table, a figure of six traces and their delta, and sends
no worker anything. Names go into markdown escaped, so a name is always text, never a link or
a format.
"""
import math
import string

import streamlit as st

from app import classroom as board
from app import display
from app.figures.board import board_figure
from app.figures.common import model_name
from app.i18n import dataset_title, lang, t
from app.worker import pool
from core.lab.protocol import BOARD_S

UNLOCKED = "board_unlocked"  # session state: this session showed the right key
ESCAPED = {ord(c): "\\" + c for c in string.punctuation}  # markdown: every ASCII mark as itself


def md(text: str) -> str:
    """``text`` as literal markdown: no link, emphasis, table cell break, LaTeX or HTML."""
    return str(text).translate(ESCAPED)


def shown_name(row: board.Row) -> str:
    return row.name or t("board.student", n=row.number)


def unlocked() -> bool:
    """Whether this session may see the board: the URL's ``key`` checked (constant time), then
    taken off the address bar (a projector shows the address bar); a wrong key locks it again."""
    given = st.query_params.get("key")
    if given is not None:
        st.session_state[UNLOCKED] = board.key_matches(given)
        if st.session_state[UNLOCKED]:
            st.query_params.pop("key", None)
    return bool(st.session_state.get(UNLOCKED))


def live_board() -> None:
    """The board, refreshed every ``BOARD_S`` seconds from what the workers already published."""
    @st.fragment(run_every=BOARD_S)
    def refresh():
        if not st.session_state.get(UNLOCKED):
            return
        rows = board.board_rows(pool().sessions())
        st.caption(t("board.count", n=len(rows), seconds=f"{BOARD_S:g}"))
        if not rows:
            st.info(t("board.empty"))
            return
        archs = [a for a in board.ALL_ARCHS if any(a in r.archs for r in rows)]  # units taken apart too
        chart, ranks = st.columns([3, 2] if display.projector() else [2, 1])  # projector: larger type
        with chart:
            st.markdown(f"**{t('board.chart')}**")
            curves = {a: [(shown_name(r), *r.curves[a]) for r in rows if a in r.curves] for a in archs}
            display.chart(board_figure(curves, lang=lang()), key="board_chart")
        with ranks:
            ranking(rows)
        st.markdown(table(rows, archs))

    refresh()


def ranking(rows: list[board.Row]) -> None:
    st.markdown(f"**{t('board.ranking')}**")
    ranked = board.ranking(rows)
    if not ranked:
        st.caption(t("board.no_rank"))
    for dataset, units in ranked.items():
        if len(ranked) > 1:
            st.caption(t("board.ranking_dataset", dataset=dataset_title(dataset)))
        lines = []
        for arch, best in units.items():
            lines.append(f"- **{model_name(arch)}**: " + " · ".join(
                f"{rank}. {md(shown_name(row))} {nll:.3f}" for rank, (row, nll) in enumerate(best, 1)))
        st.markdown("\n".join(lines))


def _nll(value) -> str:
    return f"{value:.3f}" if value is not None and math.isfinite(value) else "–"


def table(rows: list[board.Row], archs: list[str]) -> str:
    """The rows as one markdown table (one element for the whole class; type that projector mode
    enlarges). Each name links to that student's setup, in this page's language and mode."""
    c = {k: t(f"board.columns.{k}") for k in ("student", "dataset", "units", "updates", "state")}
    head = [c["student"], c["dataset"], c["units"], c["updates"],
            *(t("board.columns.valid", model=model_name(a)) for a in archs), c["state"]]
    flags = {"lang": st.query_params.get("lang"), "projector": "1" if display.projector() else None}
    lines = ["| " + " | ".join(md(h) for h in head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        state = "training" if r.running else "paused" if r.steps is not None else "preparing"
        cells = [f"[{md(shown_name(r))}]({board.setup_link(r, **flags)})", md(dataset_title(r.dataset)),
                 md(", ".join(model_name(a) for a in r.archs)), "–" if r.steps is None else f"{r.steps:,}",
                 *(_nll(r.valid.get(a)) if a in r.archs else "" for a in archs), t(f"board.state.{state}")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
