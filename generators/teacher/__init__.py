"""LLM teachers and the bootstrapped model: proposals from a chat model, resumable and accounted for.

- ``tasks``: what to ask for (kind, category, idiom), drawn deterministically from (n, seed).
- ``prompts``: the diagnosis-first generation prompt and its quest counterpart; the JSON contract.
- ``clients``: OpenAI-compatible (``openai``), Gemini (``google-genai``) and an in-process model.
- ``batch``: concurrency, retries with backoff, one repair attempt, token/cost ledger, resume.
"""
