"""``python -m agent_memory``: the same as the ``agent-memory`` command."""

import sys

from agent_memory.cli._main import main

sys.exit(main())
