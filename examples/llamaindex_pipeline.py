"""LlamaIndex with agent-memory: ingest and query documents, then a chat with long-term memory.

1. Documents go through a normal ingestion pipeline into a VectorStoreIndex backed by
   AgentMemoryVectorStore, embedded with Qwen3Embedding (queries get the instruction).
2. A chat memory (llama_index.core.memory.Memory) with an AgentMemoryBlock: turns that
   leave the short-term window become the user's long-term memories, and come back in
   a later conversation. MockLLM stands in for a real LLM, so it runs offline; pass any
   LlamaIndex LLM instead.

    AGENT_MEMORY_MODEL=/path/to/model python examples/llamaindex_pipeline.py
"""

from __future__ import annotations

import asyncio

from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
from llama_index.embeddings.agent_memory import Qwen3Embedding
from llama_index.memory.agent_memory import AgentMemoryBlock
from llama_index.vector_stores.agent_memory import AgentMemoryVectorStore

from agent_memory import MemorySystem

DOCUMENTS = [
    Document(text="Alice's team ships the billing service every Tuesday.", metadata={"source": "wiki"}),
    Document(text="The office coffee machine is on the third floor.", metadata={"source": "wiki"}),
    Document(text="Alice asked for a vegetarian menu at the offsite.", metadata={"source": "email"}),
]


def query_documents(embed_model: Qwen3Embedding) -> None:
    store = AgentMemoryVectorStore(user_id="alice", collection_name="alice-docs")
    index = VectorStoreIndex.from_documents(
        DOCUMENTS, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model
    )
    for question, filters in [
        ("When does the billing service ship?", None),
        ("What food does Alice want?", MetadataFilters(filters=[MetadataFilter(key="source", value="email")])),
    ]:
        print(f"query: {question}")
        for hit in index.as_retriever(similarity_top_k=2, filters=filters).retrieve(question):
            print(f"  {hit.score:.3f}  {hit.node.get_content()}")
    store.close()


def chat_memory(memory: MemorySystem, session: str) -> Memory:
    # Only what the user says becomes a memory here; the default also keeps assistant turns.
    block = AgentMemoryBlock(memory=memory, user_id="alice", top_k=2, roles=(MessageRole.USER,))
    return Memory.from_defaults(
        session_id=session, memory_blocks=[block], token_limit=60, chat_history_token_ratio=0.5, token_flush_size=20
    )


async def chat(memory: MemorySystem, session: str, turns: list[str]) -> None:
    llm = MockLLM(max_tokens=8)
    history = chat_memory(memory, session)
    for text in turns:
        await history.aput(ChatMessage(role="user", content=text))
        prompt = await history.aget()  # short-term turns plus the relevant long-term memories
        reply = await llm.achat(prompt)
        await history.aput(reply.message)
        print(f"user: {text}")
        if prompt[0].role == "system":
            print("  (long-term memory in the prompt: " + " | ".join(str(prompt[0].content).split("\n")[1:3]) + ")")


def main() -> None:
    with MemorySystem(path=":memory:") as memory:
        embed_model = Qwen3Embedding()  # AGENT_MEMORY_MODEL, else Qwen3-Embedding-0.6B, like MemorySystem
        query_documents(embed_model)
        print("\nfirst conversation")
        asyncio.run(chat(memory, "s1", ["My dog is a beagle called Rex.", "I live in Porto.", "I love hiking."]))
        print("\nsecond conversation, a new session")
        asyncio.run(chat(memory, "s2", ["What is my dog called?"]))
        print("\nalice's long-term memories:", [m.text for m in memory.list_memories(user_id="alice")])


if __name__ == "__main__":
    main()
