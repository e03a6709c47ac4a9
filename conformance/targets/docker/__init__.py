"""The Docker implementation of the targets: the image run by a Docker engine through testcontainers."""
