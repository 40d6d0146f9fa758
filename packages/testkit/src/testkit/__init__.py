"""Real services for tests, on loopback only: each module starts one kind of server.

Development only (installed by ``scripts/bootstrap``); neither product imports it at run time.
"""
