"""Ensemble members by name: ``MEMBERS`` maps each ``combine.members`` word to its class.

A new member is one module here with a class that satisfies ``base.Member``, plus its entry in
the tuple below. The tuple's order is the mixture's member order (the weight grid walks it and
``members.joblib`` follows it), so append new members at the end.
"""

from __future__ import annotations

from models.triage.members.base import Logits, Member
from models.triage.members.embedding import EmbeddingMember
from models.triage.members.knn import KnnMember
from models.triage.members.tfidf import TfidfMember

MEMBERS: dict[str, type[Member]] = {m.name: m for m in (TfidfMember, EmbeddingMember, KnnMember)}

__all__ = ["MEMBERS", "Logits", "Member"]
