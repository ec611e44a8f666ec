"""`python -m idealfit ...` runs the `idealfit` command."""

from idealfit.cli import main

raise SystemExit(main())
