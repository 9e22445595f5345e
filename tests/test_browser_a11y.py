"""Every page audited by axe-core against WCAG 2 A and AA (colour contrast, names of controls and
links, ARIA, landmarks, ...) in headless Chromium at 1280x720: in English as a student's laptop
shows it, in English projector mode as a classroom projector does, and in Korean, all against
one `streamlit run`.

axe-core's script comes from the pinned axe-playwright-python package (requirements-dev.lock,
with its hash; without it these tests fail, never skip). It is injected into each page once the
page has drawn its content (the end of its run, its heading, the Lab's metrics, charts that stop
changing) and run with the rules tagged WCAG 2.0, 2.1 and 2.2 A and AA. A violation fails the
test with its rule, its impact and each element it found.

axe leaves text it cannot place on a background (the sidebar's caption: "overlapped by another
element") as "incomplete", neither passed nor failed; the captions, whose contrast issue 31 was
about, are measured here as well, on every page and in the sidebar too.

Each view's results are kept for CI at artifacts/a11y/<page>-<mode>.json (git-ignored), with the
server log.
"""
import functools
import json
from pathlib import Path

import pytest

from benchmarks.live_page import browser_test_server, open_browser
from tests.test_browser_i18n import PAGES, READY, VIEWPORT, settle

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "a11y"
MODES = {"en": "lang=en", "en-projector": "lang=en&projector=1", "ko": "lang=ko"}
# axe-core's tags for the success criteria of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AA_TEXT, AA_LARGE_TEXT = 4.5, 3.0  # WCAG 1.4.3: contrast ratios, normal and large text

# axe.run on the whole document; per rule violated: its id, impact and each element's selector
# and what axe says is wrong there. Rules left "incomplete" are kept by id and count.
AXE_RUN = """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})
    .then(r => ({
        version: r.testEngine.version,
        violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '),
                why: [...n.any, ...n.all, ...n.none].map(c => c.message)}))})),
        incomplete: Object.fromEntries(r.incomplete.map(v => [v.id, v.nodes.length])),
    }))"""

# Each caption's contrast as WCAG computes it: its text colour, faded by its own and its
# ancestors' opacity (Streamlit draws captions at 60%), over the nearest background painted
# under it. Large text (24 px, or 18.66 px bold) needs 3:1, other text 4.5:1.
CAPTIONS_JS = """() => {
    const rgba = s => { const [r, g, b, a = 1] = s.match(/[\\d.]+/g).map(Number); return [r, g, b, a]; };
    const luminance = rgb => rgb.map(c => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
        .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
    return [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .filter(el => el.innerText.trim() && el.getClientRects().length).map(el => {
            const text = el.querySelector('p') || el, style = getComputedStyle(text);
            let [r, g, b, alpha] = rgba(style.color), under = el, back = [255, 255, 255];
            for (let e = text; e; e = e.parentElement) alpha *= parseFloat(getComputedStyle(e).opacity);
            while ((under = under.parentElement)) {
                const bg = rgba(getComputedStyle(under).backgroundColor);
                if (bg[3] > 0) { back = bg.slice(0, 3); break; }
            }
            const fore = [r, g, b].map((c, i) => alpha * c + (1 - alpha) * back[i]);
            const [hi, lo] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
            const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
            return {text: el.innerText.trim().slice(0, 60), sidebar: !!el.closest('[data-testid="stSidebar"]'),
                    ratio: Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100,
                    large: size >= 24 || (bold && size >= 18.66)};
        });
}"""

pytestmark = pytest.mark.browser


@functools.cache
def axe_script() -> str:
    """axe-core's browser script. Missing, every test here fails: an audit that quietly did not
    run would pass every page."""
    try:
        from axe_playwright_python.base import AXE_FILE_PATH
    except ImportError as e:
        pytest.fail(f"axe-core is missing ({e}): `make setup-dev` installs it from requirements-dev.lock")
    return AXE_FILE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def server():
    with browser_test_server(ARTIFACTS) as url:
        yield url


@pytest.fixture(scope="module")
def audited(server):
    """(page, mode) -> axe-core's results and the captions' contrast: each view is opened once,
    whichever test asks."""
    views = {}
    with open_browser() as browser:
        def get(name: str, mode: str) -> dict:
            if (name, mode) not in views:
                try:
                    views[name, mode] = audit(browser, server, name, mode)
                except AssertionError as e:  # timed out or raised: the view's other test fails at once
                    views[name, mode] = {"failed": str(e)}
                (ARTIFACTS / f"{name}-{mode}.json").write_text(
                    json.dumps(views[name, mode], indent=1, ensure_ascii=False))
            if "failed" in views[name, mode]:
                pytest.fail(f"{name} ({mode}): {views[name, mode]['failed']}")
            return views[name, mode]
        yield get


def audit(browser, url: str, name: str, mode: str) -> dict:
    """Open one page in one mode, wait until it has drawn its content, then audit it."""
    axe = axe_script()
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f"{url}/{PAGES[name]}?{MODES[mode]}")
        state = settle(page, READY.get(name))
        assert state["exceptions"] == [], state["exceptions"]
        page.add_script_tag(content=axe)
        return {**page.evaluate(AXE_RUN, WCAG_AA), "captions": page.evaluate(CAPTIONS_JS)}
    finally:
        page.close()


def report(violations: list[dict]) -> str:
    """Each violated rule with its elements, readable in a failed test's output."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}, {len(v['nodes'])} element(s):")
        lines += [f"  {n['target']}\n    " + "\n    ".join(n["why"]) for n in v["nodes"]]
    return "\n".join(lines)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_wcag_aa_violations(audited, name, mode):
    result = audited(name, mode)
    assert result["violations"] == [], f"axe-core {result['version']}, {name} ({mode}):\n{report(result['violations'])}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", PAGES)
def test_captions_have_aa_contrast_in_the_sidebar_too(audited, name, mode):
    captions = audited(name, mode)["captions"]
    if name == "lab":  # the check sees captions: the Lab has some in the sidebar and in the page
        assert {c["sidebar"] for c in captions} == {True, False}, captions
    faint = [c for c in captions if c["ratio"] < (AA_LARGE_TEXT if c["large"] else AA_TEXT)]
    assert faint == [], f"{name} ({mode}): captions below WCAG AA contrast: {faint}"
