"""The Lab in Korean, on a projector and in teacher mode (AppTest), and the text it builds keys
for at run time (which tests/test_text.py cannot see)."""
import json
import re

from app import text
from app.equations import READOUT, equations, note
from app.guide_text import full_guide, short_guide
from core.music.data import dataset_choices
from core.training.settings import OPTIMIZERS
from core.units import ARCHS, display_name
from core.units.spec import VARIANTS
from tests.apptest import new_app, open_page
from tests.test_app import ready, run_until

HANGUL = re.compile(r"[\uac00-\ud7a3]")
SMALL = {"archs": "lstm", "budget": "2000"}  # one small model: a quick worker
MIDI_ERRORS = ("not_midi", "truncated", "corrupt", "empty", "no_notes", "drums_only", "out_of_range",
               "too_large", "too_long", "other")  # core.music.midi.MidiError kinds, and the fallback


def test_every_key_built_at_run_time_exists_in_both_languages():
    from app.lab import controls, views
    keys = ([f"lab.labels.{n}" for n in controls.NUMBERS] + [f"lab.help.{n}" for n in controls.HELP]
            + [f"lab.variants.{v}" for v in VARIANTS] + [f"lab.optimizers.{o}" for o in OPTIMIZERS]
            + [f"common.datasets.{d}" for d in [*dataset_choices(), controls.UPLOAD]]
            + [f"lab.loss.axes.{x}" for x in views.LOSS_X]
            + [f"lab.views.{v}" for v in views.VIEW_TEXT.values()] + [f"lab.warnings.{k}" for k in views.WARNINGS]
            + [f"lab.upload.reasons.{kind}" for kind in MIDI_ERRORS])
    for lang in text.LANGS:
        assert [k for k in keys if k not in text.catalog(lang)] == [], lang


def test_core_warnings_worded_here_say_what_core_says():
    """Each of core's warning kinds, worded from its numbers, gives core's own English sentence."""
    from app.lab.views import WARNINGS
    from core.lab import Lab
    from core.music.data import load_dataset
    from core.training.settings import LabSettings
    lab = Lab(LabSettings(lr=1e38, clip=0.0, archs=("gru", "lstm")), load_dataset("chorales"))
    lab.step()
    lab.valid_rows["gru"] = [(0, 0.0, 12.3, 0.1), (5, 1.0, 41.2, 0.0)]  # a loss that grew
    warnings = lab.warnings()
    assert {w["kind"] for w in warnings} == set(WARNINGS)
    for w in warnings:
        values = {k: v for k, v in w.items() if k not in ("kind", "arch", "text")}
        key = f"lab.warnings.{w['kind']}"
        assert text.get("en", key, model=display_name(w["arch"]), **values) == w["text"]
        assert HANGUL.search(text.get("ko", key, model="GRU", **values))


def test_equations_are_maths_and_their_words_are_text():
    for arch in ARCHS:
        for variant in VARIANTS:
            assert not any(r"\text" in line for line in equations(arch, variant))
            assert note(arch, variant) == text.get("en", "equations.notes." + (
                "tanh" if arch == "tanh" else f"{arch}.{variant}"))
            assert HANGUL.search(note(arch, variant, "ko"))
    assert not any(r"\text" in line for line in READOUT)
    assert "망각 게이트" in short_guide("ko") and "Fair comparisons" in full_guide("en")
    assert full_guide("ko").startswith(short_guide("ko")) and "공정한 비교" in full_guide("ko")


def test_the_lab_speaks_korean_and_rewords_core_warnings():
    at = run_until(new_app(lang="ko", lr="1e38", clip="0", variant="nope", eval_every="0", **SMALL),
                   ready, what="the models")
    try:
        assert at.title[0].value == "GateLab: 실험실"
        assert [w.value for w in at.sidebar.warning] == [
            "URL 매개변수 variant=nope을(를) 무시합니다. 다음 중에서 고르세요: torch, paper.",
            "URL 매개변수 eval_every=0은(는) 올바른 값이 아니어서 무시하고 기본값을 사용합니다."]
        assert [at.button(key=k).label for k in ("play", "pause", "step", "reset")] == \
            ["재생", "일시정지", "한 단계", "초기화"]
        assert at.sidebar.header[0].value == "설정"
        assert at.number_input(key="setting_lr").label == "학습률"
        assert at.metric[0].label == "LSTM: 검증 NLL (nats/시간 단계)"
        assert any(c.value.startswith("업데이트 0회 · ") for c in at.caption)
        assert {e.label for e in at.expander} == {"여기서 학습하는 각 유닛의 수식", "읽는 법 (선생님용)",
                                                   "모델 내려받기 (체크포인트)"}
        assert at.radio(key="view").format_func("Cell states") == "셀 상태"
        at.button(key="step").click().run()
        warnings = [w.value for w in at.warning]
        assert any("발산했습니다" in w for w in warnings), warnings
        assert not at.exception
    finally:
        at.session_state["lab_client"].close()


def test_a_projector_shows_the_transport_metrics_loss_and_gates_only():
    at = run_until(new_app(projector="1", **SMALL), ready, what="the models")
    try:
        run_until(at, lambda a: len(a.get("plotly_chart")) >= 2, what="the gates")
        titles = [c["layout"].get("yaxis", {}).get("title", {}).get("text", "")
                  for c in (json.loads(p.proto.spec) for p in at.get("plotly_chart"))]
        assert len(titles) == 2 and titles[0].startswith("NLL")  # loss chart, then the gates
        names = {t["name"] for p in at.get("plotly_chart") for t in json.loads(p.proto.spec)["data"]
                 if "name" in t}
        assert {"LSTM i", "LSTM f", "LSTM o"} <= names and "LSTM c̃" not in names
        assert [m.label for m in at.metric] == ["LSTM"]  # validation NLL only, under the model's name
        assert at.button(key="play") and at.button(key="step")
        assert not at.expander and not at.get("download_button") and not at.caption.values[:1] == [
            text.get("en", "lab.caption")]
        assert "view" not in [r.key for r in at.radio]
        assert not at.exception
    finally:
        at.session_state["lab_client"].close()


def test_teacher_mode_keeps_the_urls_settings_and_hides_their_widgets():
    at = run_until(new_app(teacher="1", lr="0.01", seed="4", **SMALL), ready, what="the models")
    try:
        assert not at.sidebar.number_input and not at.sidebar.selectbox and not at.sidebar.radio
        assert [c.value for c in at.sidebar.caption] == [text.get("en", "lab.settings.teacher_note")]
        assert at.query_params["lr"] == "0.01" and at.query_params["seed"] == "4"
        assert at.query_params["archs"] == "lstm" and len(at.metric) == 2
        assert not at.exception
    finally:
        at.session_state["lab_client"].close()


def test_the_guide_page_speaks_korean():
    at = open_page("guide/guide.py", lang="ko")
    assert at.title[0].value == "GateLab 읽는 법"
    assert "네 번의 클릭으로 하는 수업" in at.markdown[0].value
    if "lab_client" in at.session_state:
        at.session_state["lab_client"].close()


def test_an_unknown_language_in_the_url_is_said_in_every_language():
    """``?lang=kr`` opens the page in English and says why, in English and in Korean (whoever
    asked for another language may not read English); a language GateLab speaks says nothing."""
    at = open_page("guide/guide.py", lang="kr")
    choices = "en (English), ko (한국어)"
    assert at.title[0].value == "How to read GateLab"
    assert [w.value for w in at.sidebar.warning] == [
        "URL parameter lang=kr is not a language GateLab speaks; English is used. Choose from: "
        f"{choices}.\n\nURL 매개변수 lang=kr은(는) GateLab이 지원하는 언어가 아니어서 영어를 사용합니다. "
        f"다음 중에서 고르세요: {choices}."]
    assert at.selectbox(key="ui_lang").value == "en"
    for good in ("en", "ko"):
        assert not open_page("guide/guide.py", lang=good).sidebar.warning
    teacher = open_page("guide/guide.py", lang="xx", teacher="1")
    assert [w.value for w in teacher.sidebar.warning] == [
        w.value.replace("lang=kr", "lang=xx") for w in at.sidebar.warning]
