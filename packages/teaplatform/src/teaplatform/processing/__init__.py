"""Processing control: recipes for the five teas, batches, deviation alarms."""
