"""Tea garden monitoring: gardens, plots, devices, sensor readings, alerts, growth model."""
