"""Seeded demo data: a fictional SaaS help desk's tickets, events and knowledge base."""

# ``make demo``'s size: enough for every part of the story (incident bursts, escalations,
# a trained model's shadow quality, weekly trends over eight weeks) in about five minutes on
# 2 cores; ``supportflow demo run --tickets 20000 --days 90`` for a bigger one.
DEMO_TICKETS = 4_000
DEMO_DAYS = 60
