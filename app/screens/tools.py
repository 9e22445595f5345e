"""Gate tools: gate saturation, gate interventions, memory length and an equation stepper, on
the pretrained models or this session's Lab models. The maths is in ``core.teaching`` and
``core.teaching_cells``; this page picks, calls and draws."""
import streamlit as st

from app import session
from app.display import chart
from app import teaching as tm
from app.figures.common import model_name
from app.figures.intervention import intervention_figure
from app.figures.memory import memory_figure
from app.figures.saturation import saturation_figure
from app.stepper import input_keys, stepper_lines
from app.equations import note
from core.teaching import SATURATION_GATES, answer_step, memory_curve, memory_gradients, model_saturation
from core.teaching_cells import CLAMP_MEANINGS, Clamp, intervention, step_numbers

TOOLS = {"saturation": "Gate saturation", "interventions": "Gate interventions",
         "memory": "Memory length", "stepper": "Equation stepper"}
HISTORY = 8          # saturation snapshots kept, so a user sees where units go while training
FOLLOW_S = 3.0       # refresh of the saturation scatter while following the Lab


def gated(models: dict) -> list[str]:
    return [a for a in models if SATURATION_GATES[a]]


def saturation_points(models, model_key, over, piece_key, roll, low, high) -> dict:
    pieces = tm.valid_sample(piece_key[0]) if over == "split" else [roll]
    key = (model_key, over, piece_key, low, high)
    return tm.memo("saturation", key, lambda: {a: model_saturation(m, pieces, low, high)
                                                for a, m in models.items() if SATURATION_GATES[a]})


def remember(points: dict, model_key) -> list[dict]:
    """Keep the last HISTORY snapshots (one per model state) for the units' paths."""
    history = st.session_state.setdefault("tools_sat_history", [])
    if not history or history[-1][0] != model_key:
        history.append((model_key, points))
        del history[:-HISTORY]
    return [p for k, p in history[:-1]]


def saturation_tool(models, model_key, piece_key, roll) -> None:
    st.caption("Each dot is one unit: the share of time steps its gate is nearly closed (< low, "
               "x axis) and nearly open (> high, y axis). Soft gates sit near the origin; switches on "
               "the dotted diagonal (Karpathy, Johnson & Fei-Fei 2015).")
    cols = st.columns(3)
    with cols[0]:
        over = tm.control("over", st.radio, "split", "Over", options=["split", "piece"],
                          format_func={"split": "the validation split", "piece": "this piece"}.get,
                          horizontal=True, key="sat_over")
    with cols[1]:
        low = tm.control("low", st.slider, 0.1, "Low threshold", 0.01, 0.5, 0.1, 0.01, key="sat_low")
    with cols[2]:
        high = tm.control("high", st.slider, 0.9, "High threshold", 0.5, 0.99, 0.9, 0.01, key="sat_high")
    follow = model_key[0] == "lab" and tm.control(
        "follow", st.toggle, False, "Follow the Lab's training (the dots move)", key="sat_follow")

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
        chart(saturation_figure(points, history, low, high), "sat_chart")
        if history:
            st.caption(f"Faint lines: where each unit was at the last {len(history)} snapshots "
                       f"({model_key[1:]} updates now).")
    scatter()


def memory_tool(models, model_key, piece_key, roll) -> None:
    st.caption("How much the prediction at step t still depends on the input k steps back: the norm "
               "of the gradient of the output logits at t with respect to the input at t−k (Madsen, "
               "Distill 2019). A straight falling line on this log scale is a vanishing gradient.")
    T = len(roll)
    answer = answer_step(roll) if piece_key[0] == tm.LONG_MEMORY else None
    cols = st.columns(3)
    with cols[0]:
        K = int(tm.control("K", st.slider, min(30, T - 1), "K: steps back", 1, max(1, min(80, T - 1)),
                           min(30, max(T - 1, 1)), key="mem_K"))
    with cols[1]:
        default_t = answer if answer is not None else T - 1
        t = int(tm.control("t", st.slider, default_t, "Step t", 0, T - 1, default_t,
                           key=f"mem_t_{piece_key}"))
    with cols[2]:
        average = tm.control("average", st.toggle, True, "Average over steps too", key="mem_avg")
    at_t = tm.memo("memory_t", (model_key, piece_key, K, t),
                   lambda: {a: memory_gradients(m, roll, t, K) for a, m in models.items()})
    curves = tm.memo("memory", (model_key, piece_key, K, average),
                     lambda: {a: memory_curve(m, roll, K, n_steps=8) for a, m in models.items()}
                     if average else None)
    chart(memory_figure(at_t, curves, t), "mem_chart")
    if answer is not None:
        st.caption(f"This long-memory sequence answers its call at step {answer}: at that step only "
                   "a unit whose gradient still reaches k = 30 can know which key to play.")


def clamp_choice(arch: str, units: int) -> Clamp:
    options = [(g, v) for (a, g, v) in CLAMP_MEANINGS if a == arch]
    labels = {o: CLAMP_MEANINGS[(arch, *o)] for o in options}
    choice = tm.control("clamp", st.selectbox, options[0], "Clamp", options=options,
                        format_func=labels.get, key=f"int_clamp_{arch}")
    if tm.is_hidden("clamp") and "gate" in st.query_params:
        wanted = (st.query_params["gate"], tm.url_value("value", 1.0))
        choice = wanted if wanted in options else choice
    which = tm.control("units", st.multiselect, [], "Only these units (empty: all)",
                       options=list(range(units)), key=f"int_units_{arch}")
    return Clamp(choice[0], float(choice[1]), tuple(which) or None)


def intervention_tool(models, model_key, piece_key, roll) -> None:
    st.caption("Break one gate and see what it was for: the same model, the same piece, with the gate "
               "held at 0 or 1 at every step, against the model as trained.")
    archs = gated(models)
    if not archs:
        st.info("Only the tanh RNN is loaded: it has no gates to clamp.")
        return
    arch = tm.control("arch", st.radio, archs[-1], "Model", options=archs, format_func=model_name,
                      horizontal=True, key="int_arch")
    clamp = clamp_choice(arch, models[arch].spec.units)
    result = tm.memo("intervention", (model_key, piece_key, arch, clamp),
                     lambda: intervention(models[arch], roll, clamp))
    who = "all units" if clamp.units is None else f"units {', '.join(map(str, clamp.units))}"
    label = f"{clamp.gate} = {clamp.value:g} for {who}"
    chart(intervention_figure(arch, result["base"], result["clamped"], label), "int_chart")
    base, clamped = result["base"].mean(), result["clamped"].mean()
    st.metric(f"Mean NLL per step with {label}", f"{clamped:.3f} nats", f"{clamped - base:+.3f}",
              delta_color="inverse")


def stepper_tool(models, model_key, piece_key, roll) -> None:
    arch = tm.control("arch", st.radio, list(models)[-1], "Model", options=list(models),
                      format_func=model_name, horizontal=True, key="step_arch")
    model, T = models[arch], len(roll)
    key_t = f"step_t_{piece_key}"
    st.session_state.setdefault(key_t, 0)
    cols = st.columns([1, 1, 2, 2])
    cols[0].button("◀ step", key="step_back", on_click=lambda: st.session_state.update(
        {key_t: max(st.session_state[key_t] - 1, 0)}))
    cols[1].button("step ▶", key="step_next", on_click=lambda: st.session_state.update(
        {key_t: min(st.session_state[key_t] + 1, T - 1)}))
    t = int(cols[2].number_input("Time step t", 0, T - 1, key=key_t))
    unit = int(tm.control("unit", cols[3].number_input, 0, f"Unit (0–{model.spec.units - 1})", 0,
                          model.spec.units - 1, 0, key=f"step_unit_{arch}"))
    n = tm.memo("stepper", (model_key, piece_key, arch, t), lambda: step_numbers(model, roll, t))
    keys = input_keys(n["x"])
    st.markdown(f"**{model_name(arch)}, {model.spec.variant} equations, unit {unit}, step {t}.** "
                f"{note(arch, model.spec.variant)}  \nInput x_t = frame {t - 1}: "
                + (", ".join(keys) if keys else "silence") + f". Previous state h_(t−1) = "
                f"{n['h_prev'][unit]:.3f}" + (f", c_(t−1) = {n['c_prev'][unit]:.3f}" if "c_prev" in n else "") + ".")
    for line in stepper_lines(arch, model.spec.variant, n, unit):
        st.latex(line)


st.title("Gate tools")
st.caption("Look inside trained units: how often gates saturate, what breaks when a gate is held "
           "fixed, how far back each model's memory reaches, and every number of one step.")
models, model_key, dataset, label = tm.choose_models("tools")
st.caption(f"Applying {label}.")
data_name, index, roll = tm.choose_piece(dataset, "tools")
piece_key = (data_name, index)
TOOL_FUNCS = {
    "saturation": lambda: saturation_tool(models, model_key, piece_key, roll),
    "interventions": lambda: intervention_tool(models, model_key, piece_key, roll),
    "memory": lambda: memory_tool(models, model_key, piece_key, roll),
    "stepper": lambda: stepper_tool(models, model_key, piece_key, roll),
}
only = st.query_params.get("tool")
if only in TOOLS:
    st.subheader(TOOLS[only])
    TOOL_FUNCS[only]()
else:
    for tab, name in zip(st.tabs(list(TOOLS.values())), TOOLS):
        with tab:
            TOOL_FUNCS[name]()
