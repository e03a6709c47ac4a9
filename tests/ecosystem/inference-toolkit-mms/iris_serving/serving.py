"""Starts Multi Model Server with this package's handler service."""

from __future__ import annotations

from sagemaker_inference import model_server

from iris_serving import handler_service

HANDLER_SERVICE = handler_service.__name__


def main():
    model_server.start_model_server(handler_service=HANDLER_SERVICE)
