"""The Gate tools page's parts: the choice of models and piece, and the four tools (gate
saturation, gate interventions, memory length, the equation stepper), each with its controls
and its chart. The maths is in ``core.insight.analysis`` and ``core.units.teaching_cells``, computed by this
session's worker (``app.session``); the logic without widgets is in ``app.tools.data``.

Projector mode leaves the explanations out (the chart speaks) and keeps the essential controls;
``app/tools/tools.py`` puts the parts in order.
"""
import streamlit as st

from app import choosers as tm
from app import model_files, session, teacher
from app.display import chart, projector
from app.figures.common import model_name
from app.figures.intervention import intervention_figure
from app.figures.memory import memory_figure
from app.figures.saturation import saturation_figure
from app.i18n import lang
from app.i18n import t as tx  # t is a time step here
from app.tools import data as tools
from app.tools.stepper import stepper_lines
from core.insight.lesson import answer_step
from core.units import UNITS
from core.units.records import Clamp


def setup() -> tuple:
    """The models and the piece -> (models, model_key, piece_key, roll)."""
    models, model_key, dataset, label = tm.choose_models("tools")
    if not projector():
        st.caption(tx("tools.applying", label=label))
    data_name, index, roll = tm.choose_piece(dataset, "tools")
    return models, model_key, (data_name, index), roll


def explain(key: str) -> None:
    """A tool's explanation: left out in projector mode, where the chart speaks."""
    explain_text(tx(key))


def explain_text(sentence: str) -> None:
    if not projector():
        st.caption(sentence)


# -- gate saturation -----------------------------------------------------------------------------

def saturation_points(models, model_key, over, piece_key, roll, low, high) -> dict:
    pieces = tm.valid_sample(piece_key[0]) if over == "split" else [roll]
    key = (model_key, over, piece_key, low, high)
    return tm.memo("saturation", key, lambda: {a: session.compute("saturation", m, pieces, low, high)
                                                for a, m in models.items() if UNITS[a].gates})


def remember(points: dict, model_key) -> list[dict]:
    """Keep the last HISTORY snapshots (one per model state) for the units' paths."""
    return tools.keep_snapshot(st.session_state.setdefault("tools_sat_history", []), points, model_key)


def saturation_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.saturation.explain")
    cols = st.columns(3)
    with cols[0]:
        over = teacher.control("over", st.radio, "split", tx("tools.saturation.over"), options=["split", "piece"],
                          format_func=teacher.labels("tools.saturation", ["split", "piece"]).get, horizontal=True,
                          essential=False, key="sat_over")
    with cols[1]:
        low = teacher.control("low", st.slider, 0.1, tx("tools.saturation.low"), 0.01, 0.5, 0.1, 0.01,
                         essential=False, key="sat_low")
    with cols[2]:
        high = teacher.control("high", st.slider, 0.9, tx("tools.saturation.high"), 0.5, 0.99, 0.9, 0.01,
                          essential=False, key="sat_high")
    follow = model_key[0] == "lab" and teacher.control(
        "follow", st.toggle, False, tx("tools.saturation.follow"), key="sat_follow")

    @st.fragment(run_every=tools.FOLLOW_S if follow else None)
    def scatter():
        nonlocal models, model_key
        if follow:
            weights = session.trained_weights(timeout=2.0)
            if weights:
                st.session_state[tm.LAB_WEIGHTS] = weights
                models = model_files.lab_models(weights)
                model_key = tools.lab_key(weights)
        points = saturation_points(models, model_key, over, piece_key, roll, low, high)
        history = remember(points, model_key) if model_key[0] == "lab" else []
        chart(saturation_figure(points, history, low, high, lang=lang()), "sat_chart")
        if history and not projector():
            st.caption(tx("tools.saturation.history", n=len(history),
                          updates=", ".join(map(str, model_key[1:]))))
    scatter()


# -- memory length -------------------------------------------------------------------------------

def memory_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.memory.explain")
    T = len(roll)
    answer = answer_step(roll) if piece_key[0] == tm.LONG_MEMORY else None
    ranges = tools.memory_ranges(T, answer)
    cols = st.columns(3)
    with cols[0]:
        K = int(teacher.control("K", st.slider, ranges["K_url"], tx("tools.memory.K"), 1, ranges["K_max"],
                           ranges["K"], essential=False, key="mem_K"))
    with cols[1]:
        t = int(teacher.control("t", st.slider, ranges["t"], tx("tools.memory.t"), 0, T - 1, ranges["t"],
                           key=f"mem_t_{piece_key}"))
    with cols[2]:
        average = teacher.control("average", st.toggle, True, tx("tools.memory.average"), essential=False,
                             key="mem_avg")
    at_t = tm.memo("memory_t", (model_key, piece_key, K, t),
                   lambda: {a: session.compute("memory_gradients", m, roll, t, K) for a, m in models.items()})
    curves = tm.memo("memory", (model_key, piece_key, K, average),
                     lambda: {a: session.compute("memory_curve", m, roll, K, n_steps=8)
                              for a, m in models.items()}
                     if average else None)
    chart(memory_figure(at_t, curves, t, lang=lang()), "mem_chart")
    if answer is not None and not projector():
        st.caption(tx("tools.memory.answer", step=answer))


# -- gate interventions --------------------------------------------------------------------------

def clamp_choice(arch: str, units: int) -> Clamp:
    options, meanings = tools.clamp_options(arch)
    linked = options[0] if "gate" not in st.query_params else \
        tools.url_clamp(options, st.query_params["gate"], teacher.url_value("value", 1.0), options[0])
    # a teacher link's gate and value: the clamp when hidden, where the box starts when shown
    choice = teacher.control("clamp", st.selectbox, linked, tx("tools.interventions.clamp"), options=options,
                        format_func=meanings.get, key=f"int_clamp_{arch}")
    which = teacher.control("units", st.multiselect, [], tx("tools.interventions.units"),
                       options=list(range(units)), essential=False, key=f"int_units_{arch}")
    return Clamp(choice[0], float(choice[1]), tuple(which) or None)


def intervention_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.interventions.explain")
    archs = tools.gated(models)
    if not archs:
        st.info(tx("tools.interventions.no_gates"))
        return
    arch = teacher.control("arch", st.radio, archs[-1], tx("tools.interventions.model"), options=archs,
                      format_func=model_name,
                      horizontal=True, key="int_arch")
    for sentence in tools.removed_gates(arch):   # a unit taken apart: its missing gate is fixed already
        explain_text(sentence)
    clamp = clamp_choice(arch, models[arch].spec.units)
    result = tm.memo("intervention", (model_key, piece_key, arch, clamp),
                     lambda: session.compute("intervention", models[arch], roll, clamp))
    label = tools.clamp_label(clamp)
    chart(intervention_figure(arch, result["base"], result["clamped"], label, lang=lang()), "int_chart")
    base, clamped = result["base"].mean(), result["clamped"].mean()
    st.metric(tx("tools.interventions.metric", label=label), tx("tools.nats", value=f"{clamped:.3f}"),
              f"{clamped - base:+.3f}", delta_color="inverse")


# -- the equation stepper ------------------------------------------------------------------------

def stepper_tool(models, model_key, piece_key, roll) -> None:
    arch = teacher.control("arch", st.radio, list(models)[-1], tx("tools.stepper.model"), options=list(models),
                      format_func=model_name, horizontal=True, key="step_arch")
    model, T = models[arch], len(roll)
    key_t = f"step_t_{piece_key}"
    st.session_state.setdefault(key_t, 0)
    cols = st.columns([1, 1, 2, 2])
    cols[0].button(tx("tools.stepper.back"), key="step_back", on_click=lambda: st.session_state.update(
        {key_t: tools.step_back(st.session_state[key_t])}))
    cols[1].button(tx("tools.stepper.next"), key="step_next", on_click=lambda: st.session_state.update(
        {key_t: tools.step_next(st.session_state[key_t], T)}))
    t = int(cols[2].number_input(tx("tools.stepper.t"), 0, T - 1, key=key_t))
    last = model.spec.units - 1
    unit = int(teacher.control("unit", cols[3].number_input, 0, tx("tools.stepper.unit", last=last), 0, last, 0,
                          key=f"step_unit_{arch}"))
    n = tm.memo("stepper", (model_key, piece_key, arch, t), lambda: session.compute("step_numbers", model, roll, t))
    st.markdown(tools.stepper_text(arch, model.spec.variant, n, unit, t, note=not projector()))
    for line in stepper_lines(arch, model.spec.variant, n, unit):
        st.latex(line)
    explain("tools.stepper.explain")


VIEWS = {"saturation": saturation_tool, "interventions": intervention_tool, "memory": memory_tool,
         "stepper": stepper_tool}   # by the names of tools_data.TOOLS


def choose_tool() -> str:
    """Projector mode's one tool at a time, chosen like a tab but only it computed."""
    return st.radio(tx("tools.tool"), tools.TOOLS, format_func=tools.tool_labels().get, horizontal=True,
                    key="tools_tool", label_visibility="collapsed")
