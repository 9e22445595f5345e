"""Gate tools: gate saturation, gate interventions, memory length and an equation stepper, on
the pretrained models or this session's Lab models. The maths is in ``core.teaching`` and
``core.teaching_cells``; this page picks, calls and draws."""
import streamlit as st

from app import session
from app.display import chart, projector
from app import teaching as tm
from app.figures.common import model_name
from app.figures.intervention import intervention_figure
from app.figures.memory import memory_figure
from app.figures.saturation import saturation_figure
from app.i18n import lang, t as tx   # t is a time step here
from app.stepper import input_keys, stepper_lines
from core.lesson import answer_step
from core.records import CLAMP_MEANINGS, SATURATION_GATES, Clamp

TOOLS = ("saturation", "interventions", "memory", "stepper")   # names: tools.names.*
HISTORY = 8          # saturation snapshots kept, so a user sees where units go while training
FOLLOW_S = 3.0       # refresh of the saturation scatter while following the Lab


def gated(models: dict) -> list[str]:
    return [a for a in models if SATURATION_GATES[a]]


def saturation_points(models, model_key, over, piece_key, roll, low, high) -> dict:
    pieces = tm.valid_sample(piece_key[0]) if over == "split" else [roll]
    key = (model_key, over, piece_key, low, high)
    return tm.memo("saturation", key, lambda: {a: session.compute("saturation", m, pieces, low, high)
                                                for a, m in models.items() if SATURATION_GATES[a]})


def remember(points: dict, model_key) -> list[dict]:
    """Keep the last HISTORY snapshots (one per model state) for the units' paths."""
    history = st.session_state.setdefault("tools_sat_history", [])
    if not history or history[-1][0] != model_key:
        history.append((model_key, points))
        del history[:-HISTORY]
    return [p for k, p in history[:-1]]


def explain(key: str) -> None:
    """A tool's explanation: left out in projector mode, where the chart speaks."""
    if not projector():
        st.caption(tx(key))


def saturation_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.saturation.explain")
    cols = st.columns(3)
    with cols[0]:
        over = tm.control("over", st.radio, "split", tx("tools.saturation.over"), options=["split", "piece"],
                          format_func=tm.labels("tools.saturation", ["split", "piece"]).get, horizontal=True,
                          essential=False, key="sat_over")
    with cols[1]:
        low = tm.control("low", st.slider, 0.1, tx("tools.saturation.low"), 0.01, 0.5, 0.1, 0.01,
                         essential=False, key="sat_low")
    with cols[2]:
        high = tm.control("high", st.slider, 0.9, tx("tools.saturation.high"), 0.5, 0.99, 0.9, 0.01,
                          essential=False, key="sat_high")
    follow = model_key[0] == "lab" and tm.control(
        "follow", st.toggle, False, tx("tools.saturation.follow"), key="sat_follow")

    @st.fragment(run_every=FOLLOW_S if follow else None)
    def scatter():
        nonlocal models, model_key
        if follow:
            weights = session.trained_weights(timeout=2.0)
            if weights:
                st.session_state[tm.LAB_WEIGHTS] = weights
                models = tm.up.lab_models(weights)
                model_key = ("lab", *(w["updates"] for w in weights.values()))
        points = saturation_points(models, model_key, over, piece_key, roll, low, high)
        history = remember(points, model_key) if model_key[0] == "lab" else []
        chart(saturation_figure(points, history, low, high, lang=lang()), "sat_chart")
        if history and not projector():
            st.caption(tx("tools.saturation.history", n=len(history),
                          updates=", ".join(map(str, model_key[1:]))))
    scatter()


def memory_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.memory.explain")
    T = len(roll)
    answer = answer_step(roll) if piece_key[0] == tm.LONG_MEMORY else None
    cols = st.columns(3)
    with cols[0]:
        K = int(tm.control("K", st.slider, min(30, T - 1), tx("tools.memory.K"), 1, max(1, min(80, T - 1)),
                           min(30, max(T - 1, 1)), essential=False, key="mem_K"))
    with cols[1]:
        default_t = answer if answer is not None else T - 1
        t = int(tm.control("t", st.slider, default_t, tx("tools.memory.t"), 0, T - 1, default_t,
                           key=f"mem_t_{piece_key}"))
    with cols[2]:
        average = tm.control("average", st.toggle, True, tx("tools.memory.average"), essential=False,
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


def clamp_choice(arch: str, units: int) -> Clamp:
    options = [(g, v) for (a, g, v) in CLAMP_MEANINGS if a == arch]
    choice = tm.control("clamp", st.selectbox, options[0], tx("tools.interventions.clamp"), options=options,
                        format_func={o: tx(f"tools.clamps.{arch}.{o[0]}{o[1]:g}") for o in options}.get,
                        key=f"int_clamp_{arch}")
    if tm.is_hidden("clamp") and "gate" in st.query_params:
        wanted = (st.query_params["gate"], tm.url_value("value", 1.0))
        choice = wanted if wanted in options else choice
    which = tm.control("units", st.multiselect, [], tx("tools.interventions.units"),
                       options=list(range(units)), essential=False, key=f"int_units_{arch}")
    return Clamp(choice[0], float(choice[1]), tuple(which) or None)


def intervention_tool(models, model_key, piece_key, roll) -> None:
    explain("tools.interventions.explain")
    archs = gated(models)
    if not archs:
        st.info(tx("tools.interventions.no_gates"))
        return
    arch = tm.control("arch", st.radio, archs[-1], tx("tools.interventions.model"), options=archs,
                      format_func=model_name,
                      horizontal=True, key="int_arch")
    clamp = clamp_choice(arch, models[arch].spec.units)
    result = tm.memo("intervention", (model_key, piece_key, arch, clamp),
                     lambda: session.compute("intervention", models[arch], roll, clamp))
    who = tx("tools.interventions.all_units") if clamp.units is None else \
        tx("tools.interventions.some_units", units=", ".join(map(str, clamp.units)))
    label = tx("tools.interventions.label", gate=clamp.gate, value=f"{clamp.value:g}", who=who)
    chart(intervention_figure(arch, result["base"], result["clamped"], label, lang=lang()), "int_chart")
    base, clamped = result["base"].mean(), result["clamped"].mean()
    st.metric(tx("tools.interventions.metric", label=label), tx("tools.nats", value=f"{clamped:.3f}"),
              f"{clamped - base:+.3f}", delta_color="inverse")


def stepper_tool(models, model_key, piece_key, roll) -> None:
    arch = tm.control("arch", st.radio, list(models)[-1], tx("tools.stepper.model"), options=list(models),
                      format_func=model_name, horizontal=True, key="step_arch")
    model, T = models[arch], len(roll)
    key_t = f"step_t_{piece_key}"
    st.session_state.setdefault(key_t, 0)
    cols = st.columns([1, 1, 2, 2])
    cols[0].button(tx("tools.stepper.back"), key="step_back", on_click=lambda: st.session_state.update(
        {key_t: max(st.session_state[key_t] - 1, 0)}))
    cols[1].button(tx("tools.stepper.next"), key="step_next", on_click=lambda: st.session_state.update(
        {key_t: min(st.session_state[key_t] + 1, T - 1)}))
    t = int(cols[2].number_input(tx("tools.stepper.t"), 0, T - 1, key=key_t))
    last = model.spec.units - 1
    unit = int(tm.control("unit", cols[3].number_input, 0, tx("tools.stepper.unit", last=last), 0, last, 0,
                          key=f"step_unit_{arch}"))
    n = tm.memo("stepper", (model_key, piece_key, arch, t), lambda: session.compute("step_numbers", model, roll, t))
    st.markdown(stepper_text(arch, model.spec.variant, n, unit, t))
    for line in stepper_lines(arch, model.spec.variant, n, unit):
        st.latex(line)
    explain("tools.stepper.explain")


def stepper_text(arch: str, variant: str, n: dict, unit: int, t: int) -> str:
    """Which unit and step the lines show, what is special about the unit, and its inputs."""
    keys = input_keys(n["x"])
    previous = tx("tools.stepper.hc_prev", h=f"{n['h_prev'][unit]:.3f}", c=f"{n['c_prev'][unit]:.3f}") \
        if "c_prev" in n else tx("tools.stepper.h_prev", h=f"{n['h_prev'][unit]:.3f}")
    head = tx("tools.stepper.head", model=model_name(arch), variant=tm.variant_name(variant), unit=unit, t=t)
    note = "" if projector() else " " + tx(f"tools.notes.{arch}_{variant}")
    frame = tx("tools.stepper.input", frame=t - 1,
               keys=", ".join(keys) if keys else tx("tools.stepper.silence"))
    return f"{head}{note}  \n{frame} {previous}"


def setup() -> tuple:
    """The models and the piece -> (models, model_key, piece_key, roll)."""
    models, model_key, dataset, label = tm.choose_models("tools")
    if not projector():
        st.caption(tx("tools.applying", label=label))
    data_name, index, roll = tm.choose_piece(dataset, "tools")
    return models, model_key, (data_name, index), roll


st.title(tx("tools.title"))
if projector():   # the chart first: the choice of models and piece folds away
    with st.expander(tx("tools.setup")):
        models, model_key, piece_key, roll = setup()
else:
    st.caption(tx("tools.intro"))
    models, model_key, piece_key, roll = setup()
TOOL_FUNCS = {
    "saturation": lambda: saturation_tool(models, model_key, piece_key, roll),
    "interventions": lambda: intervention_tool(models, model_key, piece_key, roll),
    "memory": lambda: memory_tool(models, model_key, piece_key, roll),
    "stepper": lambda: stepper_tool(models, model_key, piece_key, roll),
}
only = st.query_params.get("tool")
if only in TOOLS:
    st.subheader(tx(f"tools.names.{only}"))
    TOOL_FUNCS[only]()
elif projector():   # one tool at a time, chosen like a tab but only it computed
    name = st.radio(tx("tools.tool"), TOOLS, format_func=tm.labels("tools.names", TOOLS).get,
                    horizontal=True, key="tools_tool", label_visibility="collapsed")
    TOOL_FUNCS[name]()
else:
    for tab, name in zip(st.tabs([tx(f"tools.names.{n}") for n in TOOLS]), TOOLS):
        with tab:
            TOOL_FUNCS[name]()
