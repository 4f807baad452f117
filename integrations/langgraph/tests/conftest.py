"""Offline: the fixtures (the real MiniLM, ``memory``) come from agent-memory's pytest plugin."""

from agent_memory.pytest_plugin import offline_environment

offline_environment()
