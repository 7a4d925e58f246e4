"""The fast CPU path: the fine-tuned encoder and heads exported to ONNX and quantised to int8.

Measured here (STACK_NOTES, batch 64, sorted by length): torch fp32 123 seq/s, torch dynamic int8
277 (−0.3 pt, deprecated API), ONNX Runtime fp32 159, ONNX Runtime int8 341 (±0.0 pt). So the
model ships an int8 ONNX graph when it loses at most ``max_accuracy_loss`` against fp32 on the
validation split; otherwise the predictor keeps torch fp32. ``make bench-scoring`` re-measures.
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path

import numpy as np
import torch

from models.triage import batching

log = logging.getLogger("supportflow.train")
ONNX_FP32 = "triage.fp32.onnx"
ONNX_INT8 = "triage.int8.onnx"


class _DropRecords(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


@contextmanager
def quiet_export():
    """Silence three known-harmless messages of ONNX export and quantisation, at their source
    (errors still raise; ``--verbose`` does not change this, the messages say nothing a user
    can act on):

    - torch's ``TracerWarning`` (transformers' mask code turns a shape into a Python bool):
      the graph is exported with dynamic batch and token axes and checked against torch on the
      validation split before it is used (``max_accuracy_loss``);
    - "Exporting aten::index operator of advanced indexing": wrong only for negative indices,
      which these graphs do not use;
    - ONNX Runtime's "consider to run pre-processing before quantization" (a root-logger
      warning): the pre-processing helps static quantisation; these graphs are dynamic int8;
    - torch's DeprecationWarnings on the TorchScript exporter: chosen on purpose
      (``dynamo=False``: STACK_NOTES' measured path for these graphs)."""
    drop = _DropRecords("Please consider")
    root = logging.getLogger()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        root.addFilter(drop)
        try:
            yield
        finally:
            root.removeFilter(drop)


class _Logits(torch.nn.Module):
    """The model with a tuple output in head order (ONNX wants positional outputs)."""

    def __init__(self, model, fields: list[str]):
        super().__init__()
        self.model, self.fields = model, fields

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return tuple(out[f] for f in self.fields)


def export(folder: Path) -> tuple[Path, Path]:
    """Export the saved model folder to ONNX fp32, then quantise weights to int8."""
    from transformers import AutoModel

    from models.triage.modeling import META_FILE, TriageMeta, TriageModel

    meta = TriageMeta.from_json((folder / META_FILE).read_text())
    # eager attention exports to plain ONNX ops (SDPA does not), STACK_NOTES
    encoder = AutoModel.from_pretrained(str(folder / "encoder"), attn_implementation="eager")
    model = TriageModel(encoder, {f: h.labels for f, h in meta.heads.items()})
    model.heads.load_state_dict(torch.load(folder / "heads.pt", weights_only=True))
    return export_model(model, folder)


def eager_copy(model) -> torch.nn.Module:
    """An eval-mode copy of an in-memory ``TriageModel`` with eager attention, ready to export
    (the original keeps its attention implementation and train/eval mode)."""
    copy = deepcopy(model)
    copy.encoder.set_attn_implementation("eager")
    return copy.eval()


def export_model(model, folder: Path) -> tuple[Path, Path]:
    """Export a ``TriageModel`` (eager attention, see ``eager_copy``) to ``folder/ONNX_FP32``,
    then quantise its weights to ``folder/ONNX_INT8``; returns both paths. Outputs are the
    heads' logits in head order, inputs ``input_ids`` and ``attention_mask`` (batch, tokens)."""
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    fields = list(model.heads)
    ids = torch.ones((2, 8), dtype=torch.long)
    fp32, int8 = folder / ONNX_FP32, folder / ONNX_INT8
    axes = {0: "batch", 1: "tokens"}
    with quiet_export():
        _export_and_quantise(model, fields, ids, axes, fp32, int8)
    return fp32, int8


def _export_and_quantise(model, fields, ids, axes, fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import quantize_dynamic

    torch.onnx.export(
        _Logits(model, fields),
        (ids, torch.ones_like(ids)),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=fields,
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            **{f: {0: "batch"} for f in fields},
        },
        opset_version=17,
        dynamo=False,
    )
    graph, options = fuse(fp32, model.encoder.config)
    quantize_dynamic(str(graph), str(int8), **options)


def fuse(fp32: Path, config) -> tuple[Path, dict]:
    """ONNX Runtime's BERT fusions (attention, layer norm, GELU) on the fp32 graph: +5–40 % on
    CPU here (STACK_NOTES). Falls back to the unfused graph if the optimiser fails."""
    import onnx
    from onnxruntime.quantization import QuantType
    from onnxruntime.transformers.optimizer import optimize_model

    fused = fp32.with_suffix(".fused.onnx")
    try:
        optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        ).save_model_to_file(str(fused))
    except Exception as exc:  # an encoder the fusions do not recognise: quantise it unfused
        log.warning("ONNX fusion skipped (%s); quantising the plain graph", exc)
        return fp32, {"weight_type": QuantType.QInt8}
    # a fused graph needs a default tensor type to quantise (STACK_NOTES)
    options = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    return fused, {"weight_type": QuantType.QInt8, "extra_options": options}


class OnnxLogits:
    """Per-field logits from an ONNX graph, batched by length like the torch path."""

    def __init__(self, path: Path, fields: list[str], threads: int = 2):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.fields = fields

    def __call__(self, ids: list[list[int]], pad_id: int, batch_size: int = 64):
        sizes = [o.shape[1] for o in self.session.get_outputs()]
        out = {
            f: np.zeros((len(ids), n), dtype=np.float32)
            for f, n in zip(self.fields, sizes, strict=True)
        }
        for index, batch in batching.iterate(ids, batch_size, pad_id, shuffle=False):
            feeds = {k: v.numpy() for k, v in batch.items()}
            for name, values in zip(self.fields, self.session.run(None, feeds), strict=True):
                out[name][index] = values
        return out


def accuracy_delta(fast: dict, reference: dict, targets: dict[str, np.ndarray]) -> dict:
    """Per field: accuracy of the fast path minus fp32 (negative = the fast path loses)."""
    delta = {}
    for name, values in reference.items():
        keep = targets[name] >= 0
        ref = (values[keep].argmax(1) == targets[name][keep]).mean()
        got = (fast[name][keep].argmax(1) == targets[name][keep]).mean()
        delta[name] = float(got - ref)
    return delta


def choose(
    graphs: tuple[Path, Path],
    ids: list[list[int]],
    pad_id: int,
    reference: dict,
    targets: dict[str, np.ndarray],
    max_loss: float,
    finalise=lambda logits: logits,
) -> dict:
    """Measure the exported int8 graph against fp32 on validation; keep it only if it loses
    ≤ ``max_loss`` accuracy on every field (a fraction, 0.005 = half a point).

    ``graphs`` is ``export``'s (fp32, int8) pair: the fp32 graphs are deleted (only int8 ships;
    fp32 is torch), and int8 too when refused. ``reference`` are the model's final fp32 logits
    per field, (n, labels); ``targets`` the label indices (−1 = unlabelled); ``finalise`` turns
    the transformer's logits into final ones (the ensemble mixture), so the delta is the one
    users would see. Returns what goes into the model's metadata (``extra["fast_path"]``).
    """
    fields = list(reference)
    fp32, int8 = graphs
    for graph in (fp32, fp32.with_suffix(".fused.onnx")):  # only int8 ships; fp32 is torch
        graph.unlink(missing_ok=True)
    fast = finalise(OnnxLogits(int8, fields)(ids, pad_id))
    delta = accuracy_delta(fast, reference, targets)
    accepted = min(delta.values()) >= -max_loss
    if not accepted:
        int8.unlink()
    log.info(
        "int8 ONNX accuracy vs fp32 on validation: %s (%s)",
        ", ".join(f"{f} {100 * d:+.2f} pt" for f, d in delta.items()),
        "accepted" if accepted else f"refused: more than {100 * max_loss:.1f} pt lost",
    )
    return {
        "kind": "onnx-int8" if accepted else "torch-fp32",
        "accuracy_delta": delta,
        "max_accuracy_loss": max_loss,
        "int8_accepted": accepted,
    }
