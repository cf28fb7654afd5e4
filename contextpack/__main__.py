"""``python -m contextpack``."""

from .cli import main

main()
