"""Every page in English, in Korean and in Korean projector mode, as a classroom projector shows
it (1280x720): Debian's Chromium (headless, via Playwright) against one `streamlit run`.

Each page must render without an exception and with a clean console and no label cut short;
in Korean its main area must hold Hangul that really renders (no tofu boxes); in projector mode
its text must be larger. Nothing is pressed (the Lab only renders; it does not train).

Full-height screenshots are kept for CI at artifacts/i18n/<page>-<mode>.png (git-ignored), with
the server log and summary.json (per view: seconds to render, height, Hangul and Latin letters,
font sizes, texts cut short) beside them.
"""
import json
import os
import time
from pathlib import Path

import pytest

from benchmarks.live_page import CHROMIUM, CHROMIUM_ARGS, browser_test_server, open_browser, wait_for

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "i18n"
PAGES = {"lab": "", "upload": "upload", "paper": "paper", "tools": "tools", "lesson": "lesson",
         "guide": "guide"}  # name -> URL path
MODES = {"en": "lang=en", "ko": "lang=ko", "ko-projector": "lang=ko&projector=1"}
READY = {"lab": '[data-testid="stMetricValue"]'}  # beyond the heading: the Lab's models are built
VIEWPORT = {"width": 1280, "height": 720}
MAX_SHOT_HEIGHT = 8000  # px: a full-height screenshot of a very long page stops here
GLOSSARY = "게이트 은닉 상태"  # always checked for tofu, besides the Hangul the page shows
# Elements whose type projector mode must enlarge: (what, CSS selector within the main area).
TEXTS = (("paragraph", '[data-testid="stMarkdown"] p'), ("caption", '[data-testid="stCaptionContainer"]'),
         ("widget label", '[data-testid="stWidgetLabel"]'), ("button", '[data-testid="stButton"] button'),
         ("metric", '[data-testid="stMetricValue"]'), ("metric label", '[data-testid="stMetricLabel"]'),
         ("heading", "h1"))

pytestmark = pytest.mark.browser

# One snapshot of the page: is the run over, and what does the main area hold?
STATE_JS = """(ready) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const main = document.querySelector('[data-testid="stMain"]');
    return {
        script: app ? app.dataset.testScriptState : null,
        heading: !!(main && main.querySelector('h1')) && !!(!ready || main.querySelector(ready)),
        stale: !!(main && main.querySelector('[data-stale="true"]')),
        spinner: !!(main && main.querySelector('[data-testid="stSpinner"]')),
        exceptions: [...document.querySelectorAll('[data-testid="stException"]')]
            .map(e => e.innerText.slice(0, 300)),
        height: main ? main.scrollHeight : 0,
        elements: main ? main.querySelectorAll('[data-testid="stElementContainer"]').length : 0,
        charts: main ? main.querySelectorAll('.js-plotly-plot').length : 0,
    };
}"""

# Letters of the main area; for the first element of each kind, the font-size its first text is
# drawn in (an element's own size can be overridden inside it); the texts cut short (ellipsis,
# or clipped) because they do not fit.
TEXT_JS = """(texts) => {
    const main = document.querySelector('[data-testid="stMain"]');
    const words = main.innerText;
    const sizes = {};
    for (const [what, selector] of texts) {
        const el = main.querySelector(selector);
        const walk = el && document.createTreeWalker(el, NodeFilter.SHOW_TEXT, {acceptNode: n =>
            n.textContent.trim() && !n.parentElement.closest('[data-testid="stIconMaterial"]')
                ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP});
        const text = walk && walk.nextNode();
        if (text) sizes[what] = parseFloat(getComputedStyle(text.parentElement).fontSize);
    }
    const cut = [...main.querySelectorAll('p, span, div, label, button, h1, h2, h3')].filter(el => {
        const style = getComputedStyle(el);
        return el.innerText && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
            && (style.textOverflow === 'ellipsis' || style.overflowX === 'hidden')
            && !el.closest('.js-plotly-plot, [data-testid="stDataFrame"], [data-testid="stTable"]')
            && ![...el.children].some(c => c.scrollWidth > c.clientWidth + 1);
    }).map(el => el.innerText.trim().replace(/\\s+/g, ' ').slice(0, 60));
    return {hangul: (words.match(/[\\uac00-\\ud7a3]/g) || []).length,
            latin: (words.match(/[A-Za-z]/g) || []).length,
            hangul_chars: [...new Set(words.match(/[\\uac00-\\ud7a3]/g) || [])].slice(0, 24).join(''),
            sizes, cut: [...new Set(cut)]};
}"""

# Tofu: draw each Hangul character on a canvas in the font the page uses (family and weight of
# its heading and of its body text) and compare it with what two unassigned code points draw
# (the font's .notdef box, or nothing). A character that draws the same, or no ink, is tofu.
TOFU_JS = """(chars) => {
    const main = document.querySelector('[data-testid="stMain"]');
    const canvas = document.createElement('canvas');
    canvas.width = 56; canvas.height = 56;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    const out = {};
    for (const el of [main.querySelector('h1'), main.querySelector('p') || main]) {
        const style = getComputedStyle(el);
        const font = `${style.fontWeight} 40px ${style.fontFamily}`;
        const draw = (ch) => {
            ctx.clearRect(0, 0, 56, 56);
            ctx.font = font; ctx.fillStyle = '#000'; ctx.textBaseline = 'top';
            ctx.fillText(ch, 4, 4);
            const data = ctx.getImageData(0, 0, 56, 56).data;
            let ink = 0;
            for (let i = 3; i < data.length; i += 4) ink += data[i] > 0;
            return {pixels: data.join(','), ink};
        };
        const notdef = [draw('\\ue000'), draw('\\u0378')];
        out[font] = {
            notdef_alike: notdef[0].pixels === notdef[1].pixels,
            tofu: [...chars].filter(ch => {
                const glyph = draw(ch);
                return glyph.ink === 0 || notdef.some(n => n.pixels === glyph.pixels);
            }).join(''),
        };
    }
    return out;
}"""


@pytest.fixture(scope="module")
def server():
    with browser_test_server(ARTIFACTS) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with open_browser() as b:
        yield b


@pytest.fixture(scope="module")
def shown(server, browser):
    """(page, mode) -> what the browser showed: each view is opened once, whichever test asks."""
    views = {}

    def get(name: str, mode: str) -> dict:
        if (name, mode) not in views:
            try:
                views[name, mode] = visit(browser, server, name, mode)
            except AssertionError as e:  # timed out: the other tests of this view fail at once
                views[name, mode] = {"failed": str(e)}
            summary = {f"{n}-{m}": {k: v for k, v in view.items() if k != "console"}
                       for (n, m), view in views.items()}
            (ARTIFACTS / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
        if "failed" in views[name, mode]:
            pytest.fail(f"{name} ({mode}): {views[name, mode]['failed']}")
        return views[name, mode]
    return get


def settle(page, ready: str | None, timeout: float = 30.0) -> dict:
    """Wait until the run is over (or raised) and the main area stops changing for a second:
    charts load lazily after the script's run, and a page may rerun (the Lab does once its
    models are built; meanwhile the last run's elements show, marked stale)."""
    state = wait_for(lambda: (s := page.evaluate(STATE_JS, ready)) and (s["exceptions"] or (
        s["script"] == "notRunning" and s["heading"] and not s["spinner"] and not s["stale"])) and s,
        90, "the page's heading and the end of its run")

    def shape(s):
        return s["height"], s["elements"], s["charts"], s["spinner"], s["stale"]

    deadline, same = time.monotonic() + timeout, 0
    while same < 3 and time.monotonic() < deadline:  # 3 x 0.4 s unchanged (and not stale)
        page.wait_for_timeout(400)
        now = page.evaluate(STATE_JS, ready)
        same = same + 1 if shape(now) == shape(state) and not now["stale"] else 0
        state = now
    return state


def visit(browser, url: str, name: str, mode: str) -> dict:
    """Open one page in one mode at 1280x720, record what it shows, keep a full-height shot."""
    page = browser.new_page(viewport=VIEWPORT)
    console, missing = [], []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    shot = str(ARTIFACTS / f"{name}-{mode}.png")
    try:
        start = time.monotonic()
        page.goto(f"{url}/{PAGES[name]}?{MODES[mode]}")
        try:
            state = settle(page, READY.get(name))
        except AssertionError:
            page.screenshot(path=shot)  # what it showed instead
            raise
        view = {"seconds": round(time.monotonic() - start, 1), "height": state["height"],
                "charts": state["charts"], "exceptions": state["exceptions"],
                **page.evaluate(TEXT_JS, [list(t) for t in TEXTS])}
        view["tofu"] = page.evaluate(TOFU_JS, view["hangul_chars"] + GLOSSARY.replace(" ", ""))
        page.set_viewport_size({"width": VIEWPORT["width"],
                                "height": min(max(state["height"], VIEWPORT["height"]), MAX_SHOT_HEIGHT)})
        page.wait_for_timeout(800)  # plotly redraws at the new size
        page.screenshot(path=shot)
    finally:
        page.close()
    # On a deep link Streamlit's frontend first probes /<page>/_stcore/{health,host-config}
    # (in case the app is served under that base path), gets 404, and falls back to the root.
    probes = all(u.endswith(("/_stcore/health", "/_stcore/host-config")) for u in missing)
    view["console"] = [e for e in console if not (probes and e.startswith("Failed to load resource")
                                                  and "404" in e)]
    view["missing"] = [u for u in missing if not probes]
    return view


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_errors(shown, name, mode):
    view = shown(name, mode)
    assert view["exceptions"] == [], view["exceptions"]
    assert (view["console"], view["missing"]) == ([], []), (view["console"], view["missing"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", PAGES)
def test_no_text_is_cut_short(shown, name, mode):
    """Labels that do not fit end in "..." or are clipped: a button reading "수업 ..." is lost
    on a projector. (Charts and tables are left out: they are canvases or scroll.)"""
    assert shown(name, mode)["cut"] == []


@pytest.mark.parametrize("mode", ["ko", "ko-projector"])
@pytest.mark.parametrize("name", PAGES)
def test_korean_page_shows_hangul_that_renders(shown, name, mode):
    view = shown(name, mode)
    assert view["hangul"] > 0, f"no Hangul in the main area ({view['latin']} Latin letters)"
    for font, drawn in view["tofu"].items():
        assert drawn["notdef_alike"], f"{font}: unassigned code points draw differently; test is blind"
        assert drawn["tofu"] == "", f"{font}: these characters draw as tofu: {drawn['tofu']}"


@pytest.mark.parametrize("name", PAGES)
def test_projector_mode_has_larger_type(shown, name):
    normal, projector = shown(name, "ko")["sizes"], shown(name, "ko-projector")["sizes"]
    both = set(normal) & set(projector)
    assert both, (normal, projector)
    smaller = {what: (normal[what], projector[what]) for what in both if projector[what] <= normal[what]}
    assert smaller == {}, f"not larger in projector mode (px normal, projector): {smaller}"


def test_the_tofu_check_sees_tofu(browser, tmp_path):
    """The check above is not blind: in a Chromium whose fontconfig knows no Korean font (one
    Latin font, or none), every Hangul character is reported."""
    latin = sorted(Path("/usr/share/fonts").rglob("DejaVuSans.ttf"))[:1]
    (tmp_path / "fonts.conf").write_text(
        '<?xml version="1.0"?><fontconfig>' + "".join(f"<dir>{p.parent}</dir>" for p in latin)
        + f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    page_html = ('<div data-testid="stMain"><h1 style="font-weight: 700">게이트</h1>'
                 "<p>은닉 상태</p></div>")
    fontless = browser.browser_type.launch(  # a second Chromium, beside the module's
        executable_path=CHROMIUM, args=CHROMIUM_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf")})
    try:
        page = fontless.new_page()
        page.set_content(page_html)
        drawn = page.evaluate(TOFU_JS, GLOSSARY.replace(" ", ""))
    finally:
        fontless.close()
    assert [d["tofu"] for d in drawn.values()] == [GLOSSARY.replace(" ", "")] * 2, drawn
