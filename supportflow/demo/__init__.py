"""Seeded demo data: a fictional SaaS help desk's tickets, events and knowledge base."""
