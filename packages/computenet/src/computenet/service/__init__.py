"""The network service: use cases and the control loop that drives the scheduling core
with the wall clock, dispatches to execution backends and keeps the store in step."""
