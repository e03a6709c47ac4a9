"""A word trigram language model with interpolated smoothing, in pure Python: train, save, load, generate.

Small enough to train in a second on a few pages of text, and deterministic: decoding is greedy, and ties go
to the word that sorts first, so the same prompt always gives the same words (the streamed frames reassemble to
the non-streamed answer).

The model is P(w | u v) = l3 * P3(w | u v) + l2 * P2(w | v) + l1 * P1(w), with the weights l1..l3 fitted by EM
on held-out text (Jelinek-Mercer "deleted interpolation"): that fit is the training loop, and
`em_iterations` / `tolerance` bound it.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MODEL_FILENAME = "textgen-model.json"
FORMAT = "smc-textgen-trigram/1"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.,;:!?]")
_PUNCTUATION = frozenset(".,;:!?")


class UserError(Exception):
    """A mistake in the data, the hyperparameters or the request: reported with its cause, never a traceback."""


def tokenize(text: str) -> list[str]:
    """Lower-case words and the punctuation that ends or splits a sentence; everything else is dropped."""
    return _TOKEN.findall(text.lower())


def piece(token: str, first: bool) -> str:
    """How a generated token is written after the text before it: a space before a word, none before punctuation."""
    return token if first or token in _PUNCTUATION else " " + token


@dataclass(frozen=True)
class Hyperparameters:
    em_iterations: int = 20
    tolerance: float = 1e-4
    holdout_fraction: float = 0.1
    min_count: int = 1

    @classmethod
    def parse(cls, raw: dict[str, str], log: Callable[[str], None]) -> Hyperparameters:
        """SageMaker's string values; unknown keys (sagemaker_*, _tuning_objective_metric) are logged, not fatal."""
        parsers: dict[str, Callable[[str], object]] = {
            "em_iterations": int, "tolerance": float, "holdout_fraction": float, "min_count": int,
        }  # fmt: skip
        values: dict[str, object] = {}
        for name, text in raw.items():
            if name not in parsers:
                log(f"ignoring unknown hyperparameter {name!r}")
                continue
            if text.startswith('"') and text.endswith('"') and len(text) >= 2:
                text = text[1:-1]  # framework estimators JSON-encode strings
            try:
                values[name] = parsers[name](text)
            except ValueError:
                raise UserError(f"hyperparameter {name}={text!r} is not a valid {parsers[name].__name__}") from None
        hp = cls(**values)  # type: ignore[arg-type]
        if hp.em_iterations < 0 or not 0 <= hp.tolerance or not 0 < hp.holdout_fraction < 1 or hp.min_count < 1:
            raise UserError(
                "hyperparameters out of range: em_iterations >= 0, tolerance >= 0, 0 < holdout_fraction < 1, "
                f"min_count >= 1 (got {hp})"
            )
        return hp


class Model:
    def __init__(self, unigrams: dict[str, int], bigrams: dict[str, dict[str, int]],
                 trigrams: dict[str, dict[str, int]], weights: tuple[float, float, float]) -> None:  # fmt: skip
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.trigrams = trigrams
        self.weights = weights
        self.total = sum(unigrams.values())
        self.bigram_totals = {k: sum(v.values()) for k, v in bigrams.items()}
        self.trigram_totals = {k: sum(v.values()) for k, v in trigrams.items()}
        # The best word on unigrams alone: the only candidate outside the contexts' continuations that can win.
        self.top_unigram = min(unigrams, key=lambda w: (-unigrams[w], w))

    def probability(self, u: str, v: str, w: str) -> float:
        l1, l2, l3 = self.weights
        p1 = self.unigrams.get(w, 0) / self.total
        p2 = self.bigrams.get(v, {}).get(w, 0) / self.bigram_totals[v] if v in self.bigrams else 0.0
        key = f"{u} {v}"
        p3 = self.trigrams.get(key, {}).get(w, 0) / self.trigram_totals[key] if key in self.trigrams else 0.0
        return l1 * p1 + l2 * p2 + l3 * p3

    def next_token(self, u: str, v: str, banned: set[str]) -> str:
        """The most probable word among the continuations of the longest context seen in training (the unigram
        winner when there are none), leaving out `banned`; ties go to the word that sorts first."""
        for continuations in (self.trigrams.get(f"{u} {v}", {}), self.bigrams.get(v, {}), self.unigrams):
            candidates = set(continuations) - banned - {"<s>"}
            if candidates:
                return min(candidates, key=lambda w: (-self.probability(u, v, w), w))
        return self.top_unigram

    def generate(self, prompt: str, max_new_tokens: int) -> Iterator[str]:
        """The continuation of `prompt`, one written piece per token (see `piece`). As Hugging Face's
        no_repeat_ngram_size=3, no word trigram is generated twice: greedy decoding would otherwise loop."""
        context = ["<s>", "<s>", *tokenize(prompt)]
        seen = {tuple(context[i : i + 3]) for i in range(len(context) - 2)}
        for i in range(max_new_tokens):
            u, v = context[-2], context[-1]
            token = self.next_token(u, v, {w for (a, b, w) in seen if (a, b) == (u, v)})
            seen.add((u, v, token))
            context.append(token)
            yield piece(token, first=i == 0)

    def save(self, path: Path) -> None:
        document = {"format": FORMAT, "weights": self.weights, "unigrams": self.unigrams, "bigrams": self.bigrams,
                    "trigrams": self.trigrams}  # fmt: skip
        tmp = path.with_name(".partial-" + path.name)
        tmp.write_text(json.dumps(document, separators=(",", ":"), sort_keys=True))
        tmp.replace(path)  # a stopped or failed run never leaves a half-written model

    @classmethod
    def load(cls, path: Path) -> Model:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise UserError(f"cannot read the model {path}: {error}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise UserError(f"{path} is not a {FORMAT} model")
        return cls(document["unigrams"], document["bigrams"], document["trigrams"], tuple(document["weights"]))


def sentences(text: str) -> list[list[str]]:
    """Token lists, one per line of non-blank text (the corpus is one passage per line)."""
    return [tokens for line in text.splitlines() if (tokens := tokenize(line))]


def fit(lines: list[list[str]], hp: Hyperparameters, log: Callable[[str], None]) -> Model:
    """Count n-grams on most lines, then fit the interpolation weights by EM on the held-out rest."""
    # Every k-th line is held out, so that the held-out text is spread over the whole corpus.
    every = max(2, round(1 / hp.holdout_fraction))
    train = [t for i, t in enumerate(lines) if i % every != every - 1]
    holdout = [t for i, t in enumerate(lines) if i % every == every - 1]
    unigrams: Counter[str] = Counter()
    bigrams: defaultdict[str, Counter[str]] = defaultdict(Counter)
    trigrams: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for tokens in train:
        padded = ["<s>", "<s>", *tokens]
        unigrams.update(tokens)
        for u, v, w in zip(padded, padded[1:], padded[2:], strict=False):
            bigrams[v][w] += 1
            trigrams[f"{u} {v}"][w] += 1
    kept = {w: c for w, c in unigrams.items() if c >= hp.min_count}
    if not kept:
        raise UserError(f"no word occurs at least min_count={hp.min_count} times in the training text")
    model = Model(kept, {k: dict(v) for k, v in bigrams.items()}, {k: dict(v) for k, v in trigrams.items()},
                  (1 / 3, 1 / 3, 1 / 3))  # fmt: skip
    events = [(p[i], p[i + 1], p[i + 2]) for t in holdout for p in [["<s>", "<s>", *t]] for i in range(len(t))]
    log(f"train:tokens={sum(map(len, train))}; vocabulary={len(kept)}; holdout_tokens={len(events)};")
    if not events:  # too few lines to hold one out: the weights stay equal
        return model
    for iteration in range(hp.em_iterations):
        expected = [0.0, 0.0, 0.0]
        for u, v, w in events:
            key = f"{u} {v}"
            parts = (
                model.weights[0] * model.unigrams.get(w, 0) / model.total,
                model.weights[1] * (model.bigrams.get(v, {}).get(w, 0) / model.bigram_totals[v] if v in model.bigrams else 0),
                model.weights[2] * (model.trigrams.get(key, {}).get(w, 0) / model.trigram_totals[key] if key in model.trigrams else 0),
            )  # fmt: skip
            total = sum(parts)
            if total > 0:
                for k in range(3):
                    expected[k] += parts[k] / total
        norm = sum(expected) or 1.0
        weights = (expected[0] / norm, expected[1] / norm, expected[2] / norm)
        change = max(abs(a - b) for a, b in zip(weights, model.weights, strict=True))
        model.weights = weights
        log(f"em:iteration={iteration + 1}; change={change:.6f}; weights={','.join(f'{x:.4f}' for x in weights)};")
        if change <= hp.tolerance:
            break
    return model
