"""Match questions to answers: questions carry the `qa` instruction, answers do not.

This is the asymmetric use of Qwen3-Embedding the library is built on: the
embedder adds ``Instruct: Given a user question, retrieve the best answer\\nQuery:``
to each question and embeds the candidate answers as plain text.

Offline: AGENT_MEMORY_MODEL=/path/to/model python examples/qa_matching.py
"""

import os

import numpy as np

from agent_memory import DEFAULT_MODEL, TASKS
from agent_memory.embeddings import SentenceTransformerEmbedder

questions = ["What is the capital of China?", "Explain gravity", "中国的首都是哪里？"]
answers = [
    "The capital of China is Beijing.",
    "Gravity is a force that attracts two bodies towards each other.",
    "北京是中国的首都。",
    "Paris is known for the Eiffel Tower.",
]

embedder = SentenceTransformerEmbedder(os.environ.get("AGENT_MEMORY_MODEL") or DEFAULT_MODEL)
print(f"model: {embedder.model}  instruction-aware: {embedder.instruction_aware}  task: {TASKS['qa']!r}\n")
scores = embedder.embed_queries(questions, task="qa") @ embedder.embed_documents(answers).T

print("similarity (rows: questions, columns: answers)")
print("       " + "  ".join(f"A{j}".rjust(6) for j in range(len(answers))))
for i, row in enumerate(scores):
    print(f"Q{i}     " + "  ".join(f"{s:6.3f}" for s in row))
print()
for question, row in zip(questions, scores, strict=True):
    print(f"{question}\n  -> {answers[int(np.argmax(row))]}  ({row.max():.3f})")
