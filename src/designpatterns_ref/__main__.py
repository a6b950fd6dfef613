"""``python -m designpatterns_ref``: the command-line interface (:mod:`designpatterns_ref.cli`)."""

from designpatterns_ref.cli import main

raise SystemExit(main())
