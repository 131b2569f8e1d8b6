"""``python -m flopcount`` behaves exactly like the ``flopcount`` command."""

from flopcount.cli import main

raise SystemExit(main())
