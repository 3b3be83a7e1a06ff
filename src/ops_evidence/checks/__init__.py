"""Small shared checks the probes are composed of: one module, one job.

Every check returns a small frozen dataclass; a failure of the outside world is a `Failure`
(a short machine reason plus a redacted human message) inside that result, never an exception.
"""
