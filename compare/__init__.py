"""The only place that sees both sides: weight transfer, the comparison commands, reports."""
import os

# TensorFlow's C++ warnings (e.g. grappler's "Not handling type DT_DOUBLE") drown the tables.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
