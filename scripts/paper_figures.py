"""Figure 2 as images: train and validation NLL against updates and against seconds, the
best candidate of each unit, per dataset and protocol, from results/reproduce.

    python scripts/paper_figures.py        # writes docs/img/fig2-<protocol>-<dataset>-<x>.png

Needs kaleido (requirements-dev.txt) and a Chromium (kaleido finds it, or set BROWSER_PATH).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.figures.loss import loss_figure
from core.training.reproduce import PROTOCOLS, ReproduceConfig, candidates_done, learning_curves, load_runs


def main(out=ROOT / "docs" / "img"):
    out.mkdir(parents=True, exist_ok=True)
    for protocol in PROTOCOLS:
        config = ReproduceConfig(protocol=protocol, out=str(ROOT / "results" / "reproduce"))
        curves, done = learning_curves(config), candidates_done(load_runs(config))
        for dataset, by_arch in curves.items():
            runs = sum(done.get((dataset, a), 0) for a in config.archs)
            total = len(config.archs) * config.candidates
            unfinished = f" (so far: {runs} of {total} runs)" if runs < total else ""
            for x in ("updates", "seconds"):
                fig = loss_figure(by_arch, x=x, height=380)
                title = f"{dataset}, {protocol} protocol: NLL against {x}{unfinished}"
                fig.update_layout(title={"text": title}, margin={"t": 70})
                path = out / f"fig2-{protocol}-{dataset}-{x}.png"
                fig.write_image(path, width=760, height=380)
                print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()
