"""`python -m idealfit ...` runs the `idealfit` command."""

from idealfit.cli import entry

raise SystemExit(entry())
