"""Sales records, forecasting, backtests and analyses."""
