"""The Paper page: Table 2 and Figure 2 of Chung et al. 2014, reproduced by GateLab's core.

Projector mode keeps the table and the curves; the long text and the rerun section stay out."""
import pandas as pd
import streamlit as st

from app import display, paper
from app.display import projector
from app.figures.loss import loss_figure
from app.i18n import dataset_title, lang, t, table
from core.data import available_datasets
from core.reproduce import PROTOCOLS

X_AXES = ("updates", "seconds")  # paper.curves.<name>
ROW_PX = 35  # the table's row height
SIGNED = ("diff", "ours_vs_hf", "paper_vs_hf")  # differences, shown with their sign


def _cell(key: str, value) -> str:
    if value is None:
        return ""
    if key in SIGNED:
        return f"{value:+.3f}"
    return f"{value:.2e}" if key == "lr" else f"{value:g}" if isinstance(value, float) else str(value)


def show_table(rows: list[dict], relabel: dict | None = None) -> None:
    """Table 2 with translated headers (``relabel`` renames some); datasets by their titles."""
    headers = table("paper.columns") | (relabel or {})
    shown = [{**r, "dataset": dataset_title(r["dataset"])} for r in rows]
    if projector():  # an HTML table takes the projector's larger type; a data grid does not
        cells = [{headers.get(k, k): _cell(k, v) for k, v in r.items()} for r in shown]
        st.table(pd.DataFrame(cells).fillna(""), hide_index=True)
        return
    config = {k: st.column_config.Column(v) for k, v in headers.items()}
    config["lr"] = st.column_config.NumberColumn(headers["lr"], format="%.2e")
    for key in SIGNED:
        config[key] = st.column_config.NumberColumn(headers.get(key, key), format="%+.3f")
    for key in ("ours_train", "ours_test", "torch_test", "seed_mean", "seed_sd", "seed_min", "seed_max",
                "two_se"):  # ours to the third decimal, all alike
        config[key] = st.column_config.NumberColumn(headers.get(key, key), format="%.3f")
    for key in ("paper_train", "paper_test", "field_sgd", "field_hf"):  # as printed: 2 decimals
        config[key] = st.column_config.NumberColumn(headers.get(key, key), format="%.2f")
    # every row in view (no inner scroll), and a blank where a dataset has no run yet
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config, placeholder="",
                 height=ROW_PX * (len(shown) + 1) + 3, row_height=ROW_PX)


st.title(t("paper.title"))
if not projector():
    st.markdown(t("paper.intro"))


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


# Option labels: dicts made in the page's language while it runs (a widget may format its
# options again later, outside the run).
titles = table("common.datasets")
protocols = {p: t(f"paper.protocol.{p}") for p in PROTOCOLS}
protocol = st.radio(t("paper.protocol.label"), PROTOCOLS, horizontal=True, key="paper_protocol",
                    format_func=protocols.get, help=t("paper.protocol.help"))
rows, curves = committed(protocol)
show_table(rows)
if missing := paper.unfinished(rows):
    st.info(t("paper.not_run", datasets=", ".join(dataset_title(d) for d in missing)))
csv_path = paper.RESULTS / protocol / "results.csv"
if csv_path.exists() and not projector():
    st.download_button(t("paper.download"), csv_path.read_bytes(),
                       file_name=f"gatelab-reproduce-{protocol}.csv", mime="text/csv")
if protocol == "paper" and not projector() and (field := paper.field_rows(rows)):
    with st.expander(t("paper.field.heading")):
        ours, theirs = paper.field_spread(field)
        text = t("paper.field.intro", ours=f"{ours:.2f}", paper_low=f"{theirs[0]:.1f}",
                 paper_high=f"{theirs[1]:.1f}")
        if ours < theirs[0]:  # the conclusion holds only while ours is the closer everywhere
            text += " " + t("paper.field.verdict")
        st.markdown(text + " " + t("paper.field.more"))
        show_table(field, relabel=table("paper.field.columns"))
cells, pairs = seed_spread(protocol)
if cells and not projector():
    with st.expander(t("paper.seeds.heading")):
        st.markdown(t("paper.seeds.intro", seeds=max(c["seeds"] for c in cells), pairs=len(pairs),
                      ordered=sum(p["lower"] is not None for p in pairs),
                      datasets=", ".join(dict.fromkeys(dataset_title(c["dataset"]) for c in cells))))
        relabel = table("paper.seeds.columns")
        show_table(cells, relabel=relabel)
        verdicts = [t("paper.seeds.lower", unit=p["lower"]) if p["lower"] else t("paper.seeds.tied")
                    for p in pairs]
        show_table([p | {"lower": v} for p, v in zip(pairs, verdicts)], relabel=relabel)
if protocol == "paper" and not projector() and (own := paper_units()):
    with st.expander(t("paper.units.heading")):
        st.markdown(t("paper.units.intro"))
        show_table(own, relabel=table("paper.units.columns"))

st.subheader(t("paper.curves.heading"))
if curves:
    left, right = st.columns([2, 1])
    dataset = left.selectbox(t("paper.curves.dataset"), sorted(curves), key="paper_dataset",
                             format_func=lambda d: titles.get(d, d))
    axes = {v: t(f"paper.curves.{v}") for v in X_AXES}
    x = right.radio(t("paper.curves.x"), X_AXES, horizontal=True, key="paper_x",
                    format_func=axes.get, help=t("paper.curves.x_help"))
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


def rerun_section() -> None:
    st.subheader(t("paper.rerun.heading"))
    st.markdown(t("paper.rerun.intro", candidates=paper.MAX_CANDIDATES, epochs=paper.MAX_EPOCHS))
    with st.form("paper_rerun_form"):
        names = [n for n in available_datasets() if n != "long-memory"]
        c1, c2, c3, c4 = st.columns(4)
        dataset = c1.selectbox(t("paper.rerun.dataset"), names, format_func=lambda d: titles.get(d, d),
                               index=names.index("chorales") if "chorales" in names else 0,
                               key="paper_rerun_dataset")
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


if not projector():
    rerun_section()
