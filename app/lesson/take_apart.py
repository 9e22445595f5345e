"""The lesson's moment of taking a gate out: one click trains the LSTM with and without a chosen
gate on the long-memory task (``core.lab.take_apart``, in this session's worker, chunk by
chunk under a progress bar), then shows both loss curves, their final numbers side by side and
one sentence of what the difference says, worded from the numbers (``sentence``).
"""
import uuid

import streamlit as st

from app import display, session
from app.figures import loss_figure
from app.figures.common import model_name
from app.i18n import lang, t
from app.teacher import control, labels
from core.lab import take_apart as core_take_apart

RESULT = "take_apart_result"   # session key: the last finished run's numbers


def sentence(result: dict) -> str:
    """What the difference says, in the page's language: the verdict of the validation NLLs
    (``core.lab.take_apart.verdict``) with the numbers it rests on."""
    full, without = result["archs"]
    final = result["final"]
    kind = core_take_apart.verdict(final, full, without)
    return t(f"lesson.take_apart.{kind}", gate=t(f"lesson.take_apart.names.{result['gate']}"),
             difference=f"{abs(final[without]['valid'] - final[full]['valid']):.2f}",
             without=f"{final[without]['valid']:.2f}", full=f"{final[full]['valid']:.2f}",
             updates=result["updates"], margin=f"{core_take_apart.MARGIN:g}")


def train(gate: str) -> dict:
    """Run the two trainings to the end in the worker, a chunk per request, the bar moving."""
    run, total = uuid.uuid4().hex, core_take_apart.UPDATES
    name = t(f"lesson.take_apart.names.{gate}")
    bar = st.progress(0.0, text=t("lesson.take_apart.training", gate=name, updates=0, total=total, seconds="0"))
    while True:
        result = session.compute("take_apart", gate, run, updates=total)
        bar.progress(min(result["updates"] / total, 1.0),
                     text=t("lesson.take_apart.training", gate=name, updates=result["updates"], total=total,
                            seconds=f"{result['seconds']:.0f}"))
        if result["done"]:
            bar.empty()
            return result


def show(result: dict) -> None:
    """Both loss curves, each model's final validation NLL and NLL at the answer, the sentence."""
    # "recent": the first updates (NLL ~60) would flatten the end, where the two differ
    display.chart(loss_figure(result["loss"], lang=lang(), y_view="recent"), key="take_apart_loss")
    final = result["final"]
    for col, arch in zip(st.columns(len(final)), result["archs"]):
        col.metric(t("lesson.take_apart.valid_metric", model=model_name(arch)),
                   t("lesson.nats", value=f"{final[arch]['valid']:.3f}"))
        col.metric(t("lesson.take_apart.answer_metric", model=model_name(arch)),
                   t("lesson.nats", value=f"{final[arch]['answer']:.2f}"))
    st.success(sentence(result))
    if not display.projector():
        st.caption(t("lesson.take_apart.done", updates=result["updates"], seconds=f"{result['seconds']:.0f}"))


def section() -> None:
    """The heading, the gate to take out, the button, and the last run's result."""
    st.subheader(t("lesson.take_apart.heading"))
    if not display.projector():
        st.caption(t("lesson.take_apart.intro", updates=core_take_apart.UPDATES))
    gates = list(core_take_apart.GATES)
    row = st.container(horizontal=True)
    with row:
        gate = control("take_out", st.radio, "f", t("lesson.take_apart.gate"), options=gates,
                       format_func=labels("lesson.take_apart.gates", gates).get, horizontal=True,
                       key="take_apart_gate")
    if st.button(t("lesson.take_apart.go"), key="take_apart_go", type="primary"):
        st.session_state[RESULT] = train(gate)
    result = st.session_state.get(RESULT)
    if result is not None:
        show(result)
