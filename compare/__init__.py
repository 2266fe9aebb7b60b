"""The only place that sees both sides: weight transfer, the comparison commands, reports."""
import time

#: When the first compare module was imported, before TensorFlow: a command's wall time counts from here.
STARTED = time.perf_counter()
