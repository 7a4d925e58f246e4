"""Agent assist: summaries, grounded reply drafts with guardrails, related tickets and incidents,
missing-information prompts and QA sampling, batch-computed for new tickets."""
