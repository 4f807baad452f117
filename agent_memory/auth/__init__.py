"""Who may call what listens on a socket: API keys, browser sessions of the inspector, and request limits.

Internal: used by the HTTP service, the MCP server over HTTP and the CLI's ``keys`` command."""
