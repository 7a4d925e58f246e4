"""TF-IDF (word 1–2 + char 2–5 grams) features and per-field logistic regressions.

The baseline model and the ensemble's lexical member share these primitives.
"""

from __future__ import annotations

import numpy as np

from models.triage.data import Examples
from models.triage.evaluate import target_indices


def _vectoriser():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )


def baseline_logits(bundle: dict, texts: list[str]) -> dict[str, np.ndarray]:
    """Log-probabilities per field, columns in the head's label order (used as logits)."""
    features = bundle["vectoriser"].transform(texts)
    return {
        name: np.log(np.clip(model.predict_proba(features), 1e-12, 1.0))
        for name, model in bundle["models"].items()
    }


def fit_per_field(
    features, examples: Examples, maps: dict[str, list[str]], c: float = 10.0
) -> dict:
    """One logistic regression per label field on shared features (unlabelled rows skipped)."""
    from sklearn.linear_model import LogisticRegression

    models = {}
    for name, labels in maps.items():
        targets = target_indices(examples.labels[name], labels)
        keep = targets >= 0
        # classes are 0..n-1 in label order, so predict_proba columns match the head's labels
        models[name] = LogisticRegression(C=c, max_iter=2000).fit(features[keep], targets[keep])
    return models


def fit_tfidf(examples: Examples, maps: dict[str, list[str]]) -> dict:
    """The TF-IDF bundle (vectoriser + a model per field) that ``baseline_logits`` reads."""
    vectoriser = _vectoriser()
    features = vectoriser.fit_transform(examples.texts)
    return {"vectoriser": vectoriser, "models": fit_per_field(features, examples, maps)}
