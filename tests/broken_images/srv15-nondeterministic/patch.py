"""SRV-15: predictions use unseeded random test-time augmentation: each record's features get noise before
the tree sees them, so the same payload twice gives different labels. Every answer is still one label per
record, in order; this image's test-dir therefore declares no expected output."""

from edit import replace

replace(
    "/opt/program/app.py",
    """    predictions = algorithm.predict(MODEL, features)
""",
    """    import numpy as np

    noise = np.random.default_rng().normal(0.0, 1.0, features.shape)  # broken: unseeded, large noise
    predictions = algorithm.predict(MODEL, features + noise)
""",
)
