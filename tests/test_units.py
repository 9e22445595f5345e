"""The units' registry (core/units/registry.py) is complete and is what every module reads."""
import numpy as np
import pytest

from app.equations import equations
from app.figures.common import MODEL_COLORS, PANELS
from app.figures.gates import panels_for
from core.insight.trace import trace
from core.units import ARCHS, QUANTITIES, RANGES, UNITS, display_name, unit
from core.units.models import build_model
from core.units.spec import VARIANTS, count_parameters


def test_every_unit_is_complete():
    for key, u in UNITS.items():
        assert u.key == key and u.quantities[-1].name == "h"          # h last: the output
        assert all(q.range in RANGES for q in u.quantities)
        assert {g for g, _ in u.clamps} <= set(u.gates)                # only gates are clamped
        assert all(value in (0.0, 1.0) for _, value in u.clamps)
        assert {v for v, _ in u.steps} == set(VARIANTS) and all(u.equations(v) for v in VARIANTS)
        assert u.name == display_name(key) and MODEL_COLORS[key] == u.color
        for variant in VARIANTS:                                        # every quantity has its equation
            assert {step.out for step in u.step_forms(variant)} == {q.name for q in u.quantities}
    assert display_name("xlstm") == "xlstm"
    with pytest.raises(ValueError, match="choose one of tanh, gru, lstm"):
        unit("xlstm")


def test_a_name_means_one_thing_in_every_unit():
    for u in UNITS.values():
        for q in u.quantities:
            assert QUANTITIES[q.name] == q
            assert PANELS[q.name] == (q.symbol, q.range)


@pytest.mark.parametrize("arch", ARCHS)
def test_what_the_registry_says_a_model_has_is_what_it_has(arch):
    u = UNITS[arch]
    for variant in VARIANTS:
        model = build_model(arch, variant, units=5, seed=0)
        n = sum(p.numel() for p in model.parameters())
        assert n == count_parameters(arch, 5, variant)                  # blocks from the registry
        assert model.rnn.weight_hh_l0.shape[0] == u.blocks * 5
        traced = trace(model, np.eye(88, dtype=np.uint8)[:6]).arrays
        assert set(traced) == {"h", "probs", "nll", "target", *u.traced}
        for name in u.gates:                                            # gates are sigmoids
            assert 0 <= traced[name].min() and traced[name].max() <= 1
        assert equations(arch, variant) == list(u.equations(variant))
    assert panels_for(arch) == u.panels
    assert panels_for(arch, candidate=True) == u.panels + ((u.candidate,) if u.candidate else ())
