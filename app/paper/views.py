"""The Paper page's parts: the protocol's choice, Table 2 with its notes and download, the
independent check, the seed spread, the paper's own unit equations, Figure 2's curves and the
small rerun. The results come from ``app.paper.results`` (read once: files in the repo), the
words from ``app.paper.words``; ``app/paper/paper.py`` puts the parts in order.

Projector mode keeps the table and the curves; the page leaves the long text and the rerun out.
"""
import pandas as pd
import streamlit as st

from app import display
from app.display import projector
from app.figures.ablation import ablation_figure
from app.figures.loss import loss_figure
from app.i18n import lang, t, table
from app.paper import results as paper
from app.paper import words
from core.music.data import available_datasets
from core.training.reproduce import PROTOCOLS

ROW_PX = 35  # the table's row height


@st.cache_data(show_spinner=False)
def paper_units() -> list[dict]:
    return paper.unit_equation_rows()


@st.cache_data(show_spinner=False)
def seed_spread(protocol: str) -> tuple[list, list]:
    return paper.seed_spread(protocol)


@st.cache_data(show_spinner=False)
def committed(protocol: str) -> tuple[list, dict]:
    """The committed results' table rows and curves (files in the repo: read once)."""
    config = paper.committed_config(protocol)
    return paper.table_rows(config), paper.curves(config)


def show_table(rows: list[dict], relabel: dict | None = None) -> None:
    """Table 2 with translated headers (``relabel`` renames some); datasets by their titles."""
    headers = words.headers(relabel)
    shown = words.titled(rows)
    if projector():  # an HTML table takes the projector's larger type; a data grid does not
        st.table(pd.DataFrame(words.text_cells(shown, headers)).fillna(""), hide_index=True)
        return
    config = {k: st.column_config.Column(v) for k, v in headers.items()}
    for key, number_format in words.NUMBER_FORMATS.items():
        config[key] = st.column_config.NumberColumn(headers.get(key, key), format=number_format)
    # every row in view (no inner scroll), and a blank where a dataset has no run yet
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, placeholder="",
                 height=ROW_PX * (len(shown) + 1) + 3, row_height=ROW_PX)


def choose_protocol() -> str:
    """The paper's protocol or the modern one. Option labels: dicts made in the page's language
    while it runs (a widget may format its options again later, outside the run)."""
    return st.radio(t("paper.protocol.label"), PROTOCOLS, horizontal=True, key="paper_protocol",
                    format_func=words.protocol_labels().get, help=t("paper.protocol.help"))


def show_unfinished(rows: list[dict]) -> None:
    """A note naming the datasets with a cell not run yet or short of candidates."""
    if missing := paper.unfinished(rows):
        st.info(words.not_run(missing))


def download(protocol: str) -> None:
    """The committed results as CSV, where there are any."""
    csv_path = paper.RESULTS / protocol / "results.csv"
    if csv_path.exists():
        st.download_button(t("paper.download"), csv_path.read_bytes(),
                           file_name=f"gatelab-reproduce-{protocol}.csv", mime="text/csv")


def show_field(rows: list[dict]) -> None:
    """Our tanh RNN beside the field's plain RNNs on the same data: an independent check."""
    if not (field := paper.field_rows(rows)):
        return
    with st.expander(t("paper.field.heading")):
        st.markdown(words.field_text(*paper.field_spread(field)))
        show_table(field, relabel=table("paper.field.columns"))


def show_seeds(protocol: str) -> None:
    """The committed seed spread: each cell over fresh seeds, and which pairs differ."""
    cells, pairs = seed_spread(protocol)
    if not cells:
        return
    with st.expander(t("paper.seeds.heading")):
        st.markdown(words.seeds_text(cells, pairs))
        relabel = table("paper.seeds.columns")
        show_table(cells, relabel=relabel)
        show_table(words.verdicts(pairs), relabel=relabel)


def show_units() -> None:
    """The paper protocol trained with the paper's own unit equations, beside PyTorch's."""
    if not (own := paper_units()):
        return
    with st.expander(t("paper.units.heading")):
        st.markdown(t("paper.units.intro"))
        show_table(own, relabel=table("paper.units.columns"))


@st.cache_data(show_spinner=False)
def ablation() -> tuple[list, list, dict]:
    return paper.ablation()


def show_ablation() -> None:
    """The ablation study: every unit taken apart beside the vanilla LSTM, over its seeds, with
    Greff et al.'s conclusions on the same data and one sentence per unit on what changed here."""
    runs, units, config = ablation()
    if not runs:
        return
    st.subheader(t("paper.ablation.heading"))
    if not projector():
        st.markdown(words.ablation_intro(config))
    show_table(words.ablation_cells(units), relabel=table("paper.ablation.columns"))
    display.chart(ablation_figure(runs, lang=lang()), key="paper_ablation")
    if projector():
        return
    st.markdown("\n".join(f"- {s}" for s in words.ablation_sentences(units)))
    st.caption(t("paper.ablation.greff_note"))
    csv_path = paper.ABLATION / "results.csv"
    st.download_button(t("paper.ablation.download"), csv_path.read_bytes(),
                       file_name="gatelab-ablation.csv", mime="text/csv", key="paper_ablation_csv")


@st.cache_data(show_spinner=False)
def cost_runs(protocol: str) -> dict:
    return paper.cost_runs(paper.committed_config(protocol))


def show_costs(protocol: str) -> None:
    """What each unit costs on one dataset, and how long each trained to reach an NLL the user
    picks: the paper's claim that gated units get there in less wall-clock time, checked here."""
    runs = cost_runs(protocol)
    if not runs:
        return
    with st.expander(t("paper.costs.heading")):
        st.markdown(t("paper.costs.intro"))
        titles = table("common.datasets")
        left, right = st.columns([2, 1])
        dataset = left.selectbox(t("paper.curves.dataset"), sorted(runs), key="cost_dataset",
                                 format_func=lambda d: titles.get(d, d))
        units = runs[dataset]
        target = right.number_input(t("paper.costs.target"), 0.0, 100.0, paper.default_target(units), 0.05,
                                     format="%.2f", key=f"cost_target_{protocol}_{dataset}")
        rows = paper.cost_rows(dataset, units, target)
        show_table(rows, relabel=table("paper.costs.columns"))
        st.markdown(words.race_text(rows, target))


def show_curves(curves: dict) -> None:
    """Figure 2: a dataset's learning curves over updates or seconds."""
    st.subheader(t("paper.curves.heading"))
    if not curves:
        return
    titles = table("common.datasets")
    left, right = st.columns([2, 1])
    dataset = left.selectbox(t("paper.curves.dataset"), sorted(curves), key="paper_dataset",
                             format_func=lambda d: titles.get(d, d))
    x = right.radio(t("paper.curves.x"), words.X_AXES, horizontal=True, key="paper_x",
                    format_func=words.axis_labels().get, help=t("paper.curves.x_help"))
    display.chart(loss_figure(curves[dataset], x=x, lang=lang()), key="paper_curves")
    if not projector():
        st.caption(t("paper.curves.caption"))


@st.fragment(run_every=1.0)
def rerun_progress():
    rerun = st.session_state.get("paper_rerun")
    if rerun is None:
        return
    if rerun.running:
        st.info(t("paper.rerun.running", lines=len(rerun.lines)))
        if st.button(t("paper.rerun.stop"), key="paper_stop"):
            rerun.stop()
    elif rerun.failed:  # the child's last line (English, from core) says why
        st.error(t("paper.rerun.failed",
                   detail=rerun.lines[-1] if rerun.lines else t("paper.rerun.no_output")))
    else:
        st.success(t("paper.rerun.finished"))
        show_table(paper.table_rows(rerun.config))
        small = paper.curves(rerun.config)
        for name, by_arch in small.items():
            display.chart(loss_figure(by_arch, lang=lang()), key=f"rerun-{name}")
    st.code("\n".join(rerun.lines[-12:]) or t("paper.rerun.starting"), language=None)


def rerun_section(protocol: str) -> None:
    """A small reproduction of ``protocol`` on one dataset, in a child process, with its progress."""
    st.subheader(t("paper.rerun.heading"))
    st.markdown(t("paper.rerun.intro", candidates=paper.MAX_CANDIDATES, epochs=paper.MAX_EPOCHS))
    titles = table("common.datasets")
    with st.form("paper_rerun_form"):
        names, default = words.rerun_choices(available_datasets())
        c1, c2, c3, c4 = st.columns(4)
        dataset = c1.selectbox(t("paper.rerun.dataset"), names, format_func=lambda d: titles.get(d, d),
                               index=default, key="paper_rerun_dataset")
        candidates = c2.number_input(t("paper.rerun.candidates"), 1, paper.MAX_CANDIDATES, 2,
                                     key="paper_rerun_k")
        epochs = c3.number_input(t("paper.rerun.epochs"), 1, paper.MAX_EPOCHS, 5, key="paper_rerun_epochs")
        seed = c4.number_input(t("paper.rerun.seed"), 0, 10_000, 0, key="paper_rerun_seed")
        start = st.form_submit_button(t("paper.rerun.start"), type="primary", key="paper_rerun_go")
    if start:
        running = st.session_state.get("paper_rerun")
        if running is not None and running.running:
            st.warning(t("paper.rerun.busy"))
        else:
            st.session_state.paper_rerun = paper.start_rerun(dataset, protocol, candidates, epochs, seed)
    rerun_progress()
