"""The built-in lesson: on the long-memory task, one click trains the three units (in this
session's Lab worker, with the lesson's settings) and three short steps say what to look at.
In projector mode each step shows its headline instead of its paragraph. Below, with or without
the lesson started, one more click takes a gate out of the LSTM (``app.lesson.take_apart``)."""
import time

import streamlit as st

from app import display, session
from app.choosers import loss_y_choice
from app.figures import gates_figure, loss_figure, panels_for
from app.figures.common import model_name
from app.i18n import lang, t
from app.lesson import take_apart
from app.teacher import control
from core.insight.lesson import LESSON_MARGIN, lesson_point, lesson_settings

REFRESH_S = 2.0       # the lesson's charts refresh this often while training
STEPS = ("loss", "gates", "memory")   # their words: lesson.steps.<name>.title / headline / text


def start() -> None:
    session.ensure_worker(lesson_settings().to_dict())
    session.play()
    st.session_state["lesson_started"] = time.monotonic()
    st.session_state.pop("lesson_reached", None)


def show_memory(view: dict) -> None:
    answers = view["answers"]
    st.session_state["lesson_answers"] = answers
    cols = st.columns(len(answers))
    for col, (arch, value) in zip(cols, answers.items()):
        col.metric(t("lesson.answer_metric", model=model_name(arch)), t("lesson.nats", value=f"{value:.2f}"))
    started = st.session_state.get("lesson_started")
    if lesson_point(answers) and started and "lesson_reached" not in st.session_state:
        st.session_state["lesson_reached"] = time.monotonic() - started
    if "lesson_reached" in st.session_state:
        st.success(t("lesson.reached", margin=f"{LESSON_MARGIN:g}",
                     seconds=f"{st.session_state['lesson_reached']:.0f}"))


def show_gates(view: dict) -> None:
    panels = {a: {g: gates[g] for g in panels_for(a)} for a, gates in view["gates"].items()}
    display.chart(gates_figure(panels, view["roll"], 0, lang=lang()), key="lesson_gates")
    answer = view["answer"]
    st.caption(t("lesson.sequence", call=answer - 30, answer=answer))


def lesson_body(step: str) -> None:
    @st.fragment(run_every=REFRESH_S if session.status().get("running") else None)
    def live():
        # The worker traces its own models (the web server holds no torch): loss, answers, gates.
        snap = session.snapshot(lesson=True, timeout=REFRESH_S)
        if snap and "lesson" in snap:
            st.session_state["lesson_snap"] = snap
        snap = st.session_state.get("lesson_snap")
        if snap is None:
            st.info(t("lesson.building"))
            return
        view = snap["lesson"]
        elapsed = time.monotonic() - st.session_state.get("lesson_started", time.monotonic())
        updates = max(m["updates"] for m in snap["metrics"].values())
        st.caption(t("lesson.progress", updates=updates, seconds=f"{elapsed:.0f}"))
        for name in STEPS if step == "all" else [step]:
            if step == "all":
                st.subheader(t(f"lesson.steps.{name}.title"))
            st.markdown(t(f"lesson.steps.{name}.{'headline' if display.projector() else 'text'}"))
            if name == "loss":
                y_view = loss_y_choice("lesson_loss_y")  # recent part of the curves / all of them
                display.chart(loss_figure(snap["loss"], lang=lang(), y_view=y_view), key="lesson_loss")
            elif name == "gates":
                show_gates(view)
            else:
                show_memory(view)
    live()


st.title(t("lesson.title"))
if session.full_notice():
    st.stop()
if not display.projector():
    st.caption(t("lesson.intro"))
row = st.container(horizontal=True)   # buttons as wide as their labels, in any language
row.button(t("lesson.start"), type="primary", key="lesson_start", on_click=start,
           help=t("lesson.start_help"))
row.button(t("lesson.pause"), key="lesson_pause", on_click=session.pause)
if "lesson_started" not in st.session_state:
    if st.query_params.get("autostart") in ("1", "true"):   # a teacher's link starts at once
        start()
        st.rerun()
    st.info(t("lesson.press_start"))
else:
    step_names = {"all": t("lesson.all_steps"), **{s: t(f"lesson.steps.{s}.title") for s in STEPS}}
    step = control("step", st.radio, "all", t("lesson.step"), options=list(step_names),
                   format_func=step_names.get, horizontal=True, key="lesson_step")
    lesson_body(step)
take_apart.section()   # the LSTM with and without one gate, on the same task: what the gate was for
