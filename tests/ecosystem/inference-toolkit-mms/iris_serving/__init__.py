"""A nearest-centroid iris classifier served by the SageMaker Inference Toolkit on Multi Model Server."""
