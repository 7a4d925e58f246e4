"""Knowledge benchmark: retrieval quality, reindex throughput, incremental cost, search latency.

retrieval    demo tickets (a seed not used to tune search) → the article that resolves their
             category (the generator's ground truth): recall@1, recall@5 and MRR for lexical,
             vector and hybrid, over the public, published articles
stackfaq     real help center (shared/data/real/stackfaq, never copied here): 125 Web Apps Stack
             Exchange threads as plain-Markdown articles, 1,249 annotators' rewordings of their
             questions → the thread (stackfaq_*)
docs         the same threads rebuilt at run time as a documentation-style help center: most
             threads merged into long guides (one section per thread, its question removed, a
             heading made of answer words), the rest left as short question-titled articles
             that compete on title words; the same queries → the guide or article (docs_*);
             docs_guide_* over the queries whose thread is in a guide, with
             docs_guide_*_section_recall_at_1: the top hit is the guide and its best passage
             lies in the thread's section
reindex      a synthetic 1,000-article help center: full reindex (passages/s), then one article
             edited and reindexed; the encoder is loaded afresh for each, as a CLI run would
latency      hybrid search p50/p95 (query embedding included) over 100k passages: synthetic
             texts for BM25 and random unit vectors (exact search costs the same whatever the
             values), queries are real demo tickets

  python -m benchmarks.bench_knowledge [--tickets 5000] [--articles 1000] [--passages 100000]
                                      [--only retrieval,stackfaq,docs,reindex,latency]

``--only`` runs the named parts and keeps the other figures of benchmarks/results/knowledge.json
(``--only stackfaq,docs``: the real help centers alone, a few minutes). ``--before`` ranks as
before long-article ranking and only prints its figures (for before/after comparisons).
``--encoder NAME`` indexes and searches with another encoder and writes
benchmarks/results/knowledge_encoder.json instead (the default encoder's file is untouched). The
real sets are read from $SUPPORTFLOW_REAL_DATA or ../shared/data/real beside the repository;
absent, they are skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import DATA, RESULTS, retrieval_figures, write_result
from supportflow.demo.write import write_demo

log = logging.getLogger("bench")
EVAL_SEED = 2  # search settings were chosen on seed 1 (benchmarks/data/tickets_10000)
VOCAB_TEXT = (
    "board workspace invoice seat plan export import template guest admin owner token webhook "
    "calendar reminder notification mobile desktop browser sync offline archive label filter "
    "comment mention attachment storage limit quota region backup restore audit permission role "
    "team project milestone report dashboard widget chart integration slack email calendar"
)
VOCAB = VOCAB_TEXT.split()
PARTS = ("retrieval", "stackfaq", "docs", "reindex", "latency")
METHODS = ("lexical", "vector", "hybrid")
LANGUAGES = ("en", "de", "es", "fr")  # the demo's ticket languages
GUIDE_THREADS = 8  # threads merged into one documentation-style guide
SHORT_THREADS = 21  # threads left as short question-titled articles (the rest: 13 guides)
DOCS_SEED = 17  # which threads go together (a seeded shuffle: guides mix topics)


# --before: the ranking as it was before long-article ranking (issue 17), for before/after figures
BEFORE = {"title_weight": 0.0, "heading_weight": 0.0, "neighbour_weight": 0.0, "passage_bonus": 0.0}
overrides: dict[str, float] = {}
encoder: dict[str, str] = {}  # --encoder: {"encoder": NAME}


def knowledge_config():
    """The config's model defaults, with ``--encoder``'s index encoder when one is given."""
    from supportflow.knowledge.config import KnowledgeConfig

    config = KnowledgeConfig()
    return config.model_copy(update={"index": config.index.model_copy(update=encoder)})


def search_config():
    return knowledge_config().search.model_copy(update=overrides)


def real_data() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
    return Path(os.environ.get("SUPPORTFLOW_REAL_DATA") or default)


def eval_tickets(n: int) -> Path:
    out = DATA / f"knowledge_eval_seed{EVAL_SEED}_{n}"
    if not (out / "manifest.json").exists():
        write_demo(out, tickets=n, days=365, seed=EVAL_SEED, workers=2)
    return out


def retrieval(tmp: Path, data: Path) -> dict:
    """Demo tickets → the article of their category, per method, overall and per ticket
    language; each ticket is searched with the encoder its language is routed to (the
    generator's language, which ingest keeps), as suggestions do."""
    from supportflow.demo.knowledge import relevant_articles
    from supportflow.knowledge.index import reindex
    from supportflow.knowledge.search import KnowledgeIndex
    from supportflow.warehouse import apply_migrations, open_warehouse

    config = knowledge_config()
    truth = json.loads((data / "kb" / "ground_truth.json").read_text())
    with open(data / "tickets.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if truth.get(r["category"])]
    texts = [f"{r['subject']}\n{r['body']}" for r in rows]
    languages = [r["language"] or None for r in rows]
    con = open_warehouse(tmp / "retrieval.duckdb")
    apply_migrations(con)
    reindex(con, data / "kb", config.index)
    index = KnowledgeIndex.load(con, config.index.encoder, config.index.language_encoders)
    con.close()
    log.info("routes (encoder: languages, None = the rest): %s", index.routes())
    figures: dict = {"retrieval_tickets": len(rows)}
    # an article in the ticket's own language resolves it too (the German password article)
    gold = [set(truth[r["category"]]) | set(relevant_articles(r["language"])[r["category"]])
            for r in rows]  # fmt: skip
    for method in ("lexical", "vector", "hybrid"):
        hits = index.search_many(texts, 5, audience="public", method=method,
                                 config=search_config(), languages=languages)  # fmt: skip
        figures |= retrieval_figures(hits, gold, prefix=f"{method}_")
        for lang in LANGUAGES:
            mine = [i for i, r in enumerate(rows) if r["language"] == lang]
            part = retrieval_figures([hits[i] for i in mine], [gold[i] for i in mine])
            figures[f"{method}_recall_at_1_{lang}"] = part["recall_at_1"]
            figures[f"{method}_recall_at_5_{lang}"] = part["recall_at_5"]
            figures[f"retrieval_tickets_{lang}"] = len(mine)
        log.info("%s: %s", method, {k: v for k, v in figures.items() if k.startswith(method)})
    figures["hybrid_non_english_gap_at_5"] = round(
        figures["hybrid_recall_at_5_en"]
        - min(figures[f"hybrid_recall_at_5_{lang}"] for lang in LANGUAGES[1:]),
        4,
    )
    return figures


def _index(tmp: Path, kb: Path, name: str):
    """Reindex ``kb`` into a fresh warehouse; the loaded index and each passage's heading."""
    from supportflow.knowledge.index import reindex
    from supportflow.knowledge.search import KnowledgeIndex
    from supportflow.warehouse import apply_migrations, open_warehouse

    config = knowledge_config()
    con = open_warehouse(tmp / f"{name}.duckdb")
    apply_migrations(con)
    summary = reindex(con, kb, config.index)
    assert not summary.problems, summary.problems
    index = KnowledgeIndex.load(con, config.index.encoder, config.index.language_encoders)
    headings = dict(con.sql("SELECT chunk_id, heading FROM landing.kb_chunks").fetchall())
    con.close()
    return index, headings


def rank_figures(prefix: str, index, queries: list[str], gold: list[str], config=None,
                 vectors=None, sections=None, headings=None) -> dict:  # fmt: skip
    """recall@1, recall@5 and MRR per method (and, given ``sections``, how often the top hit
    is the gold article with its best passage under the gold heading)."""
    from supportflow.knowledge import encoder as enc

    config = config or search_config()
    if vectors is None:
        vectors = enc.embed(index.encoder, queries)
    figures = {}
    for method in METHODS:
        hits = index.search_many(queries, 5, method=method, config=config, query_vectors=vectors)
        figures |= retrieval_figures(hits, [{g} for g in gold], prefix=f"{prefix}_{method}_")
        if sections:
            s1 = sum(
                bool(found) and found[0].article_id == gold[n]
                and headings[found[0].chunk_id] == sections[n]
                for n, found in enumerate(hits)
            )  # fmt: skip
            figures[f"{prefix}_{method}_section_recall_at_1"] = round(s1 / len(queries), 4)
    log.info("%s: %s", prefix, figures)
    return figures


def stackfaq_queries(folder: Path) -> tuple[list[str], list[str]]:
    with open(folder / "queries.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["query"] for r in rows], [r["gold_slugs"] for r in rows]


def stackfaq(tmp: Path, folder: Path) -> dict:
    """The StackFAQ help center as it is: one short article per thread, titled by its question."""
    index, _ = _index(tmp, folder / "kb", "stackfaq")
    queries, gold = stackfaq_queries(folder)
    return {"stackfaq_queries": len(queries)} | rank_figures("stackfaq", index, queries, gold)


def _answers(markdown: str) -> list[str]:
    """A thread's answers (the text under its ``## Answer N`` headings), question dropped."""
    parts = re.split(r"^## Answer \d+\s*$", markdown, flags=re.M)
    return [p.strip() for p in parts[1:] if p.strip()]


def _heading(answer: str, words: int = 6) -> str:
    """A section heading made of the answer's first words (never the question's)."""
    text = re.sub(r"https?://\S+|[`*_#>\[\]()]", " ", answer)
    return " ".join(re.findall(r"[\w'’.-]+", text)[:words]).strip(" .").capitalize() or "Notes"


def docs_help_center(folder: Path, out: Path) -> dict[str, tuple[str, str]]:
    """Write the documentation-style help center under ``out``; thread → (article, heading)."""
    slugs = sorted(p.stem for p in (folder / "kb").glob("*.md"))
    random.Random(DOCS_SEED).shuffle(slugs)
    short, merged = slugs[:SHORT_THREADS], slugs[SHORT_THREADS:]
    out.mkdir(parents=True)
    where: dict[str, tuple[str, str]] = {}
    for slug in short:  # kept as they are: a short article whose title is the question
        (out / f"{slug}.md").write_text((folder / "kb" / f"{slug}.md").read_text())
        where[slug] = (slug, "")
    for g in range(0, len(merged), GUIDE_THREADS):
        guide = f"guide-{g // GUIDE_THREADS + 1:02d}"
        lines = [f"# Web apps handbook, part {g // GUIDE_THREADS + 1}", ""]
        for n, slug in enumerate(merged[g : g + GUIDE_THREADS]):
            answers = _answers((folder / "kb" / f"{slug}.md").read_text())
            heading = f"{n + 1}. {_heading(answers[0])}"
            lines += [f"## {heading}", "", *(f"{a}\n" for a in answers)]
            where[slug] = (guide, heading)
        (out / f"{guide}.md").write_text("\n".join(lines) + "\n")
    return where


def docs(tmp: Path, folder: Path) -> dict:
    """StackFAQ's threads as long guides: the queries must find answers deep inside them."""
    where = docs_help_center(folder, tmp / "docs_kb")
    index, headings = _index(tmp, tmp / "docs_kb", "docs")
    queries, slugs = stackfaq_queries(folder)
    gold = [where[s][0] for s in slugs]
    sections = [where[s][1] for s in slugs]
    guide = [n for n, s in enumerate(slugs) if where[s][1]]
    figures = {
        "docs_articles": len({a for a, _ in where.values()}),
        "docs_passages": len(index),
        "docs_queries": len(queries),
        "docs_guide_queries": len(guide),
    }
    figures |= rank_figures("docs", index, queries, gold)
    pick = lambda values: [values[n] for n in guide]  # noqa: E731
    figures |= rank_figures("docs_guide", index, pick(queries), pick(gold),
                            sections=pick(sections), headings=headings)  # fmt: skip
    return figures


def synthetic_article(n: int, rng: random.Random) -> str:
    def sentence() -> str:
        words = rng.choices(VOCAB, k=rng.randint(8, 14))
        return " ".join(words).capitalize() + f" within {rng.randint(1, 90)} days."

    sections = []
    for s in range(3):
        paras = [" ".join(sentence() for _ in range(3)) for _ in range(2)]
        sections.append(f"## Section {s + 1}: {rng.choice(VOCAB)}\n\n" + "\n\n".join(paras))
    return (
        f"---\nid: syn-{n:05d}\ntitle: {rng.choice(VOCAB).title()} guide {n}\naudience: public\n"
        f"status: published\nowner: docs\n---\n" + "\n\n".join(sections) + "\n"
    )


def reindex_costs(tmp: Path, articles: int) -> dict:
    from supportflow.knowledge import encoder as enc
    from supportflow.knowledge.index import reindex
    from supportflow.warehouse import apply_migrations, open_warehouse

    rng = random.Random(5)
    kb = tmp / "synthetic_kb"
    kb.mkdir()
    for n in range(articles):
        (kb / f"syn-{n:05d}.md").write_text(synthetic_article(n, rng))
    config = knowledge_config().index
    con = open_warehouse(tmp / "reindex.duckdb")
    apply_migrations(con)

    def timed():
        enc.embedder.cache_clear()  # each run loads the encoder, as a fresh CLI process does
        started = time.perf_counter()
        summary = reindex(con, kb, config)
        return summary, time.perf_counter() - started

    full, full_s = timed()
    edited = kb / f"syn-{articles // 2:05d}.md"
    edited.write_text(edited.read_text() + "\nOne more sentence about exports within 7 days.\n")
    one, one_s = timed()
    con.close()
    log.info("full %.1f s (%d passages), one changed %.2f s", full_s, full.chunks_embedded, one_s)
    assert one.articles_reembedded == 1 and one.articles_unchanged == articles - 1
    return {
        "reindex_articles": articles,
        "reindex_passages": full.chunks_embedded,
        "reindex_full_s": round(full_s, 2),
        "reindex_chunks_per_s": round(full.chunks_embedded / full_s, 1),
        "incremental_reindex_s": round(one_s, 2),
        "incremental_reindex_fraction": round(one_s / full_s, 4),
    }


def search_latency(data: Path, passages: int, queries: int = 200) -> dict:
    from supportflow.knowledge.search import KnowledgeIndex

    config = knowledge_config()
    rng = random.Random(9)
    texts = [" ".join(rng.choices(VOCAB, k=60)) for _ in range(passages)]
    vectors = np.random.default_rng(9).standard_normal((passages, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = {
        "chunk_id": [f"c{i}" for i in range(passages)],
        "article_id": [f"a{i // 10}" for i in range(passages)],
        "title": ["t"] * passages,
        "url": [None] * passages,
        "updated_at": [None] * passages,
        "audience": ["public" if i % 5 else "internal" for i in range(passages)],
        "status": ["published"] * passages,
        "locale": ["en"] * passages,
        "text": texts,
    }
    started = time.perf_counter()
    index = KnowledgeIndex(rows, vectors, config.index.encoder, "bench")
    build_s = time.perf_counter() - started
    with open(data / "tickets.csv", newline="") as f:
        reader = csv.DictReader(f)
        asks = [
            f"{r['subject']}\n{r['body']}" for r, _ in zip(reader, range(queries), strict=False)
        ]
    index.search(asks[0], 5, audience="public")  # warm: encoder loaded, caches filled
    times = []
    for ask in asks:
        started = time.perf_counter()
        index.search(ask, 5, audience="public", config=search_config())
        times.append((time.perf_counter() - started) * 1000)
    log.info(
        "search over %d passages: p50 %.1f ms, p95 %.1f ms",
        passages,
        *np.percentile(times, [50, 95]),
    )
    return {
        "search_passages": passages,
        "search_index_build_s": round(build_s, 1),
        "search_p50_ms": round(float(np.percentile(times, 50)), 1),
        "search_p95_ms": round(float(np.percentile(times, 95)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated: {PARTS}")
    parser.add_argument(
        "--before", action="store_true",
        help="rank as before long-article ranking (title/heading weights, neighbour context and "
        "passage bonus off); prints the figures, leaves the results file as it is",
    )  # fmt: skip
    parser.add_argument(
        "--encoder", help="index encoder instead of the default (e.g. use:multilingual-v3); "
        "writes results/knowledge_encoder.json, not knowledge.json",
    )  # fmt: skip
    args = parser.parse_args()
    if args.before:
        overrides.update(BEFORE)
    if args.encoder:
        encoder["encoder"] = args.encoder
    only = set(args.only.split(","))
    if only - set(PARTS):
        parser.error(f"unknown part(s) {sorted(only - set(PARTS))}; known: {', '.join(PARTS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    previous = RESULTS / "knowledge.json"
    keep = previous.exists() and not args.before and not args.encoder  # only what it ran
    figures = json.loads(previous.read_text())["figures"] if keep else {}
    real = real_data() / "stackfaq"
    if only & {"stackfaq", "docs"} and not (real / "queries.csv").exists():
        log.warning("skipping stackfaq and docs: %s is absent", real)
        only -= {"stackfaq", "docs"}
    data = eval_tickets(args.tickets) if only & {"retrieval", "latency"} else None
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as tmp:
        if "retrieval" in only:
            figures |= retrieval(Path(tmp), data)
        if "stackfaq" in only:
            figures |= stackfaq(Path(tmp), real)
        if "docs" in only:
            figures |= docs(Path(tmp), real)
        if "reindex" in only:
            figures |= reindex_costs(Path(tmp), args.articles)
    if "latency" in only:
        figures |= search_latency(data, args.passages)
    if "hybrid_recall_at_5" in figures:
        figures["hybrid_above_both"] = (
            figures["hybrid_recall_at_5"] > figures["lexical_recall_at_5"]
            and figures["hybrid_recall_at_5"] > figures["vector_recall_at_5"]
        )
    targets = {
        "hybrid_recall_at_5": [">=", 0.90],
        "hybrid_above_both": ["==", True],
        "incremental_reindex_fraction": ["<=", 0.05],
        "search_p95_ms": ["<=", 50.0],
        "hybrid_non_english_gap_at_5": ["<=", 0.05],  # issue 17: within 5 points of English
    }
    if "stackfaq_hybrid_recall_at_5" in figures:
        targets["stackfaq_hybrid_recall_at_5"] = [">=", 0.99]
    if args.before:
        print(json.dumps({"before": True, "parts_run": sorted(only), "figures": figures}, indent=2))
        return
    write_result(
        "knowledge_encoder" if args.encoder else "knowledge",
        {
            "encoder": knowledge_config().index.encoder,
            "language_encoders": knowledge_config().index.language_encoders,
            "eval_seed": EVAL_SEED,
            "tickets": args.tickets,
            "articles": args.articles,
            "passages": args.passages,
            "threads": 2,
            "docs_seed": DOCS_SEED,
            "parts_run": sorted(only),
        },
        figures,
        targets,
    )


if __name__ == "__main__":
    main()
