"""computenet — the AI compute network (智算网络).

A federation layer over many AI compute centers: one deterministic scheduling core
(`computenet.scheduling`) driven by a trace-driven simulator (`computenet.simulation`)
and, later, by the live service.
"""

__version__ = "0.1.0"
