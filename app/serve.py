"""``python -m app.serve [streamlit options]``: GateLab's web server, as ``make run`` and the Docker
image start it. It starts the Lab workers' zygote (``app.worker``) at once, so that its warm-up
(importing torch, loading the compiled loops: seconds) overlaps the server's own start instead
of the first student's page, then runs ``streamlit run app/streamlit_app.py`` in this process.
A plain ``streamlit run app/streamlit_app.py`` works too: the zygote then starts with the first page.
"""
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "streamlit_app.py"


def main() -> None:
    from streamlit.web import cli

    from app.worker import pool
    pool().zygote()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
