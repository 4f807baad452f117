"""An MCP server over a :class:`agent_memory.MemorySystem`: memory tools for any Model Context Protocol client."""
