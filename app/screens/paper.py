"""The Paper page: Table 2 and Figure 2 of Chung et al. 2014, reproduced by GateLab's core."""
import streamlit as st

from app import display, paper
from app.figures.loss import loss_figure
from core.data import available_datasets

st.title("The paper: Table 2 and Figure 2")
st.markdown(
    "Chung, Gulcehre, Cho & Bengio (2014) trained a tanh RNN, a GRU and an LSTM of about 20k "
    "parameters to predict the next frame of piano rolls. Below: their Table 2 beside GateLab's "
    "reproduction (`python -m core reproduce`), and the learning curves of the selected models. "
    "Numbers are **NLL per time step in nats** (lower is better), on the best-validation weights "
    "of the best of 10 learning rates. How they were made and where they differ from the paper: "
    "`docs/reproduce.md`.")

@st.cache_data(show_spinner=False)
def committed(protocol: str) -> tuple[list, dict]:
    """The committed results' table rows and curves (files in the repo: read once)."""
    config = paper.committed_config(protocol)
    return paper.table_rows(config), paper.curves(config)


protocol = st.radio("Protocol", ["paper", "modern"], horizontal=True, key="paper_protocol",
                    help="paper: RMSProp, weight noise 0.075, the paper's unit counts. "
                         "modern: Adam, no weight noise, a matched 20k-parameter budget.")
rows, curves = committed(protocol)
st.dataframe(rows, hide_index=True, use_container_width=True,
             column_config={"learning rate": st.column_config.NumberColumn(format="%.2e")})
missing = sorted({r["dataset"] for r in rows if "ours test" not in r})
if missing:
    st.info("Not run yet: " + ", ".join(missing) + ". Their rows show the paper's numbers only.")
csv_path = paper.RESULTS / protocol / "results.csv"
if csv_path.exists():
    st.download_button("Download every run (CSV)", csv_path.read_bytes(),
                       file_name=f"gatelab-reproduce-{protocol}.csv", mime="text/csv")

st.subheader("Figure 2: learning curves")
if curves:
    left, right = st.columns([2, 1])
    dataset = left.selectbox("Dataset", sorted(curves), key="paper_dataset")
    x = right.radio("x axis", ["updates", "seconds"], horizontal=True, key="paper_x",
                    help="The paper plots both: progress per update, and per second of training.")
    display.chart(loss_figure(curves[dataset], x=x), key="paper_curves")
    st.caption("Train NLL is the mean batch loss over each epoch at the training weights (with "
               "weight noise in the paper protocol), so it can lie above validation. "
               "Download a figure as PNG with the camera icon of its toolbar.")


@st.fragment(run_every=1.0)
def rerun_progress():
    rerun = st.session_state.get("paper_rerun")
    if rerun is None:
        return
    if rerun.running:
        st.info(f"Running… {len(rerun.lines)} lines of progress")
        if st.button("Stop the rerun", key="paper_stop"):
            rerun.stop()
    elif rerun.failed:
        st.error("The rerun stopped before finishing: " + (rerun.lines[-1] if rerun.lines else "no output"))
    else:
        st.success("Finished.")
        st.dataframe(paper.table_rows(rerun.config), hide_index=True, use_container_width=True)
        small = paper.curves(rerun.config)
        for name, by_arch in small.items():
            display.chart(loss_figure(by_arch), key=f"rerun-{name}")
    st.code("\n".join(rerun.lines[-12:]) or "starting…", language=None)


st.subheader("Rerun a small version yourself")
st.markdown("The same protocol, scaled down so it finishes in a minute or two: one dataset, "
            f"at most {paper.MAX_CANDIDATES} learning rates and {paper.MAX_EPOCHS} epochs. It runs "
            "in a separate process; the page stays usable.")
with st.form("paper_rerun_form"):
    names = [n for n in available_datasets() if n != "long-memory"]
    c1, c2, c3, c4 = st.columns(4)
    dataset = c1.selectbox("Dataset", names, index=names.index("chorales") if "chorales" in names else 0)
    candidates = c2.number_input("Learning rates K", 1, paper.MAX_CANDIDATES, 2)
    epochs = c3.number_input("Epochs at most", 1, paper.MAX_EPOCHS, 5)
    seed = c4.number_input("Seed", 0, 10_000, 0)
    start = st.form_submit_button("Start", type="primary")
if start:
    running = st.session_state.get("paper_rerun")
    if running is not None and running.running:
        st.warning("A rerun is already going; stop it first.")
    else:
        st.session_state.paper_rerun = paper.start_rerun(dataset, protocol, candidates, epochs, seed)
rerun_progress()
