"""The only place that sees both sides: weight transfer, the comparison commands, reports."""
import os
import time

#: When the first compare module was imported, before TensorFlow: a command's wall time counts from here.
STARTED = time.perf_counter()

# TensorFlow's C++ warnings (e.g. grappler's "Not handling type DT_DOUBLE") drown the tables.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
