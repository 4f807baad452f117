"""Memory from conversations: the extractor protocol, the LLM prompts and answers, and ``remember``'s reconciliation.

Internal: the public names are exported from :mod:`agent_memory`."""
