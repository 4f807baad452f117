"""Who may call what listens on a socket: the gate in front of ``agent-memory serve``, API keys, browser
sessions of the inspector, and request limits.

Internal: used by the HTTP service (which hosts MCP over HTTP), the MCP tools and the CLI's ``keys`` command."""
