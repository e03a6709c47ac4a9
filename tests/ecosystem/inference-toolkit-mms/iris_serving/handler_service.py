"""The handler service Multi Model Server loads (the toolkit's DefaultHandlerService with our handler)."""

from __future__ import annotations

from sagemaker_inference.default_handler_service import DefaultHandlerService
from sagemaker_inference.transformer import Transformer

from iris_serving.inference_handler import NearestCentroidHandler


class HandlerService(DefaultHandlerService):
    def __init__(self):
        super().__init__(transformer=Transformer(default_inference_handler=NearestCentroidHandler()))
