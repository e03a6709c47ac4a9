"""What the checks see of an image: its files and config, its training and its serving (see :mod:`.results`)."""
