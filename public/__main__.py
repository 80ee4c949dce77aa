"""``python -m crimegeo.public``: the public site's commands."""

from crimegeo.public.cli import app

app()
