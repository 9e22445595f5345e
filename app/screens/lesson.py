"""The built-in lesson: on the long-memory task, one click trains the three units (in this
session's Lab worker, with the lesson's settings) and three short steps say what to look at."""
import time

import streamlit as st

from app import display, session

session.start_worker()  # first: the worker's interpreter starts while the page draws

from app import teaching as tm  # noqa: E402
from app import upload as up  # noqa: E402
from app.figures import gates_figure, loss_figure, panels_for  # noqa: E402
from app.figures.common import model_name  # noqa: E402
from core.teaching import (LESSON_MARGIN, answer_nll, answer_step, lesson_point,  # noqa: E402
                           lesson_settings)
from core.trace import trace  # noqa: E402

REFRESH_S = 2.0       # the lesson's charts refresh this often while training
ANSWER_PIECES = 16    # validation sequences the NLL at the answer is averaged over
STEPS = {
    "loss": "1 · The loss",
    "gates": "2 · Gates that hold",
    "memory": "3 · Who remembers the call",
}
TEXT = {
    "loss": "Every sequence has a bass line that repeats (easy), one *call* note at a random early "
            "step (unpredictable), and, exactly **30 steps later**, the *answer*: the same note with "
            "the chord C6–E6–G6. All three models learn the bass line within seconds: the validation "
            "NLL falls for everyone. **Watch what happens after that.**",
    "gates": "To answer, a unit must hold *when* the call came and *which* note it was for 30 steps. "
             "A gated unit can hold a value by keeping its forget gate **f near 1** (LSTM) or its "
             "update gate **z near 0** (GRU: keep the old state). Look for units whose f stays yellow "
             "(open) or whose z stays dark from the call to the answer.",
    "memory": "The NLL at the answer step: ~16 nats means the model has no idea the answer is "
              "coming and spreads its bets; lower means it remembered. The tanh RNN's state is "
              "rewritten at every step, so its gradient vanishes over 30 steps (see *Gate tools → "
              "Memory length*) and it stays near 16.",
}


def start() -> None:
    session.ensure_worker(lesson_settings().to_dict())
    session.play()
    st.session_state["lesson_started"] = time.monotonic()
    st.session_state.pop("lesson_reached", None)


def models_now() -> dict | None:
    weights = session.trained_weights(timeout=2.0)
    if weights and next(iter(weights.values()))["settings"]["dataset"] == "long-memory":
        st.session_state["lesson_weights"] = weights
    weights = st.session_state.get("lesson_weights")
    return up.lab_models(weights) if weights else None


def show_memory(models: dict, pieces: list) -> None:
    answers = {a: answer_nll(m, pieces[:ANSWER_PIECES]) for a, m in models.items()}
    st.session_state["lesson_answers"] = answers
    cols = st.columns(len(answers))
    for col, (arch, value) in zip(cols, answers.items()):
        col.metric(f"{model_name(arch)}: NLL at the answer", f"{value:.2f} nats")
    started = st.session_state.get("lesson_started")
    if lesson_point(answers) and started and "lesson_reached" not in st.session_state:
        st.session_state["lesson_reached"] = time.monotonic() - started
    if "lesson_reached" in st.session_state:
        st.success(f"A gated unit now predicts the answer at least {LESSON_MARGIN:g} nats better than "
                   f"the tanh RNN (reached {st.session_state['lesson_reached']:.0f} s after the start).")


def show_gates(models: dict, roll) -> None:
    traces = {a: trace(m, roll) for a, m in models.items() if a != "tanh"}
    panels = {a: {g: tr[g] for g in panels_for(a)} for a, tr in traces.items()}
    display.chart(gates_figure(panels, roll, 0), key="lesson_gates")
    t = answer_step(roll)
    st.caption(f"One validation sequence: the call at step {t - 30}, the answer at step {t}.")


def lesson_body(step: str) -> None:
    @st.fragment(run_every=REFRESH_S if session.status().get("running") else None)
    def live():
        snap = session.snapshot(timeout=0.5)
        if snap and "loss" in snap:
            st.session_state["lesson_snap"] = snap
        snap = st.session_state.get("lesson_snap")
        models = models_now()
        if snap is None or models is None:
            st.info("Building the three models… (a few seconds)")
            return
        elapsed = time.monotonic() - st.session_state.get("lesson_started", time.monotonic())
        updates = max(m["updates"] for m in snap["metrics"].values())
        st.caption(f"{updates} updates per model, {elapsed:.0f} s since the start.")
        pieces = tm.cached_dataset("long-memory").splits["valid"]
        for name in STEPS if step == "all" else [step]:
            if step == "all":
                st.subheader(STEPS[name])
            st.markdown(TEXT[name])
            if name == "loss":
                display.chart(loss_figure(snap["loss"]), key="lesson_loss")
            elif name == "gates":
                show_gates(models, pieces[0])
            else:
                show_memory(models, pieces)
    live()


st.title("Lesson: why gates remember")
st.caption("The built-in long-memory task (offline): a tanh RNN, a GRU and an LSTM of ~20k "
           "parameters each learn it side by side. About a minute of training makes the point.")
cols = st.columns([1, 1, 4])
cols[0].button("Start the lesson", type="primary", key="lesson_start", on_click=start,
               help="Trains the three units from scratch (Adam, lr 0.01, batches of 32).")
cols[1].button("Pause", key="lesson_pause", on_click=session.pause)
if "lesson_started" not in st.session_state:
    if st.query_params.get("autostart") in ("1", "true"):   # a teacher's link starts at once
        start()
        st.rerun()
    st.info("Press **Start the lesson**: the three models start learning at once, in this "
            "session's training process (the Lab page's; opening the Lab starts its own setup).")
    st.stop()
step = tm.control("step", st.radio, "all", "Step", options=["all", *STEPS],
                  format_func=lambda s: "All steps" if s == "all" else STEPS[s], horizontal=True,
                  key="lesson_step")
lesson_body(step)
